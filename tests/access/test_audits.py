"""/api/audits: who did what, in the same transaction, secrets masked, searchable and paged."""

from __future__ import annotations

from tests.access.conftest import PASSWORD, make_user

AUDIT_KEYS = {"id": int, "created_at": str, "user_name": str, "user_id": int, "action": str,
              "auditable_type": str, "auditable_name": (str, type(None)),
              "auditable_id": (int, type(None)), "audited_changes": dict,
              "remote_address": (str, type(None))}


async def _audits(api, search: str) -> list[dict]:
    response = await api.get("/api/audits", params={"search": search, "per_page": "all"})
    assert response.status_code == 200, response.text
    return response.json()["results"]


async def test_job_create_cancel_and_rerun_say_who_what_and_where(live):
    api = live.client
    await make_user(api, "runner", ["Remote Execution Manager"])
    await api.post("/api/hosts", json={"host": {"name": "a1.example.com"}})
    template = (await api.post("/api/job_templates", json={"job_template": {
        "name": "Secretive", "template": "echo {{ input('token') }} {{ input('who') }}",
        "template_inputs_attributes": [{"name": "token", "hidden_value": True}, {"name": "who"}]}}
    )).json()
    async with live.client_as("runner", PASSWORD) as runner:
        job = (await runner.post("/api/job_invocations", json={"job_invocation": {
            "job_template_id": template["id"], "search_query": "name ~ a*",
            "inputs": {"token": "hunter2-secret", "who": "world"},
            "ssh": {"effective_user_password": "eff-secret-9"}}})).json()
        await runner.post(f"/api/job_invocations/{job['id']}/cancel", json={"force": True})
        again = (await runner.post(f"/api/job_invocations/{job['id']}/rerun", json={})).json()
    rows = await _audits(api, "type = JobInvocation and user = runner")
    assert [(r["action"], r["auditable_id"]) for r in rows] == [
        ("rerun", again["id"]), ("cancel", job["id"]), ("create", job["id"])]
    for row in rows:
        for key, kind in AUDIT_KEYS.items():
            assert isinstance(row[key], kind), (key, row)
    created = rows[-1]["audited_changes"]
    assert created["template_name"] == "Secretive"
    assert created["inputs"] == {"token": "*****", "who": "world"}
    assert created["effective_user_password"] == "*****"
    assert created["hosts"] == ["a1.example.com"]
    assert rows[1]["audited_changes"]["force"] is True
    assert rows[0]["audited_changes"]["rerun_of"] == job["id"]
    everything = (await api.get("/api/audits", params={"per_page": "all"})).text
    assert "hunter2-secret" not in everything and "eff-secret-9" not in everything


async def test_changes_to_hosts_templates_users_and_roles_are_audited(api):
    host = (await api.post("/api/hosts", json={"host": {"name": "h1", "host_parameters_attributes": [
        {"name": "remote_execution_ssh_password", "value": "param-secret-7"}]}})).json()
    await api.put(f"/api/hosts/{host['id']}", json={"host": {"comment": "rack 4"}})
    template = (await api.post("/api/job_templates", json={"job_template": {
        "name": "T1", "template": "true"}})).json()
    await api.delete(f"/api/job_templates/{template['id']}")
    user = await make_user(api, "audited", ["Viewer"])
    await api.put(f"/api/users/{user['id']}", json={"user": {"role_ids": [],
                                                             "password": "changed-pw-1"}})
    role = (await api.post("/api/roles", json={"role": {"name": "R1"}})).json()
    await api.post("/api/filters", json={"filter": {"role_id": role["id"],
                                                    "permission_ids": ["view_hosts"]}})
    rows = await _audits(api, "user = admin")
    seen = {(r["action"], r["auditable_type"], r["auditable_name"]) for r in rows}
    assert {("create", "Host", "h1"), ("update", "Host", "h1"),
            ("create", "HostParameter", "remote_execution_ssh_password"),
            ("create", "JobTemplate", "T1"), ("destroy", "JobTemplate", "T1"),
            ("create", "User", "audited"), ("update", "User", "audited"),
            ("create", "Role", "R1"), ("create", "Filter", "Host")} <= seen
    host_update = next(r for r in rows if (r["action"], r["auditable_type"]) == ("update", "Host"))
    assert host_update["audited_changes"] == {"comment": [None, "rack 4"]}
    user_update = next(r for r in rows if (r["action"], r["auditable_type"]) == ("update", "User"))
    assert user_update["audited_changes"]["roles"] == {"added": [], "removed": ["Viewer"]}
    assert user_update["audited_changes"]["password_hash"] == ["*****", "*****"]
    param = next(r for r in rows if r["auditable_type"] == "HostParameter")
    assert param["audited_changes"]["value"] == "*****"
    text = (await api.get("/api/audits", params={"per_page": "all"})).text
    assert "param-secret-7" not in text and "changed-pw-1" not in text and "$argon2" not in text


async def test_a_refused_change_leaves_no_audit(api):
    before = (await api.get("/api/audits")).json()["total"]
    refused = await api.post("/api/users", json={"user": {"login": "x", "password": "short"}})
    assert refused.status_code == 422
    assert (await api.get("/api/audits")).json()["total"] == before


async def test_audits_page_and_search(api):
    for n in range(5):
        await api.post("/api/hosts", json={"host": {"name": f"p{n}"}})
    page = (await api.get("/api/audits", params={"search": "type = Host", "per_page": 2,
                                                 "page": 2})).json()
    assert (page["subtotal"], page["page"], page["per_page"]) == (5, 2, 2)
    assert [r["auditable_name"] for r in page["results"]] == ["p2", "p1"]
    assert (await api.get("/api/audits", params={"search": "name = p3"})).json()["subtotal"] == 1
    assert (await api.get(f"/api/audits/{page['results'][0]['id']}")).json() == page["results"][0]
    bad = await api.get("/api/audits", params={"search": "colour = red"})
    assert bad.status_code == 400
    assert (await api.get("/api/audits/999999")).status_code == 404
