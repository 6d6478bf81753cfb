"""POST /api/jobs without running anything: targets, dry runs and every refused body."""

from __future__ import annotations

import hashlib

import pytest

from tests.access.conftest import PASSWORD, make_filtered_role, make_user

HOSTS = {
    # name: (hostgroup, os, tags, facts)
    "web1.example.com": ("web", "Debian 12", "linux, web", {}),
    "web2.example.com": ("web", "Ubuntu 22.04", "linux,web , canary", {}),
    "db1.example.com": ("db", "RedHat 9", "linux,db", {}),
    "win1.example.com": ("desktops", None, "windows", {"os::family": "windows"}),
    "mac1.example.com": ("desktops", None, "mac", {"kernel": "Darwin"}),
    "bare.example.com": (None, None, None, {}),
}


@pytest.fixture
async def fleet(api):
    for name, (group, os_name, tags, facts) in HOSTS.items():
        params = [{"name": "tags", "value": tags}] if tags is not None else []
        made = await api.post("/api/hosts", json={"host": {
            "name": name, "ip": "127.0.0.1", "hostgroup_name": group,
            "operatingsystem_name": os_name, "host_parameters_attributes": params}})
        assert made.status_code == 201, made.text
        if facts:
            await api.post("/api/hosts/facts", json={"name": name, "facts": facts})
    return api


async def planned(api, targets, **extra) -> list[str]:
    response = await api.post("/api/jobs", json={
        "name": "look", "script": "echo hi", "targets": targets, "dry_run": True, **extra})
    assert response.status_code == 200, response.text
    return [h["name"] for h in response.json()["hosts"]]


TARGET_CASES = [
    ({"hosts": ["web1.example.com", "db1.example.com"]}, ["db1.example.com", "web1.example.com"]),
    ({"agents": ["web2.example.com"]}, ["web2.example.com"]),
    ({"tag": "web"}, ["web1.example.com", "web2.example.com"]),
    ({"tag": "linux and (web or db)"}, ["db1.example.com", "web1.example.com", "web2.example.com"]),
    ({"tag": "db or web and canary"}, ["db1.example.com", "web2.example.com"]),
    ({"tag": "(db or web) and canary"}, ["web2.example.com"]),
    ({"tag": "canary"}, ["web2.example.com"]),  # trimmed: "web , canary"
    ({"group": "desktops"}, ["mac1.example.com", "win1.example.com"]),
    ({"os": "linux"}, ["db1.example.com", "web1.example.com", "web2.example.com"]),
    ({"os": "windows"}, ["win1.example.com"]),
    ({"os": "macos"}, ["mac1.example.com"]),
    ({"os": "Ubuntu"}, ["web2.example.com"]),
    ({"search": "name ~ web*"}, ["web1.example.com", "web2.example.com"]),
    ({"tag": "linux", "group": "web", "search": "os ~ Debian*"}, ["web1.example.com"]),
    ({"all": True}, sorted(HOSTS)),
]


async def test_targets_select_the_hosts_they_name(fleet):
    got = {str(targets): await planned(fleet, targets) for targets, _ in TARGET_CASES}
    assert got == {str(targets): expected for targets, expected in TARGET_CASES}


async def test_host_ids_work_as_well_as_names(fleet):
    host = (await fleet.get("/api/hosts/db1.example.com")).json()
    assert await planned(fleet, {"hosts": [host["id"]]}) == ["db1.example.com"]


async def test_a_dry_run_shows_each_hosts_script_and_writes_nothing(fleet, live):
    before = {p: (await fleet.get(p)).json()["total"] for p in ("/api/jobs", "/api/job_invocations")}
    audits = (await fleet.get("/api/audits")).json()["total"]
    response = await fleet.post("/api/jobs", json={
        "name": "look", "runtime": "bash", "script": "touch /tmp/never", "timeout": 30,
        "targets": {"hosts": ["web1.example.com"]}, "dry_run": True})
    assert response.status_code == 200, response.text
    [host] = response.json()["hosts"]
    assert host == {"id": host["id"], "name": "web1.example.com", "effective_user": "root",
                    "script": "touch /tmp/never",
                    "script_sha512": hashlib.sha512(b"touch /tmp/never").hexdigest()}
    after = {p: (await fleet.get(p)).json()["total"] for p in ("/api/jobs", "/api/job_invocations")}
    assert after == before
    assert (await fleet.get("/api/audits")).json()["total"] == audits


async def test_foremans_dry_run_renders_the_template_with_secrets_masked(fleet):
    template = await fleet.post("/api/job_templates", json={"job_template": {
        "name": "Say secret", "template": "echo {{ input('word') }} {{ input('secret') }}",
        "job_category": "Tests", "provider_type": "SSH",
        "template_inputs_attributes": [
            {"name": "word", "input_type": "user"},
            {"name": "secret", "input_type": "user", "hidden_value": True}]}})
    assert template.status_code == 201, template.text
    before = (await fleet.get("/api/job_invocations")).json()["total"]
    response = await fleet.post("/api/job_invocations", json={"job_invocation": {
        "job_template_id": template.json()["id"], "search_query": "name = db1.example.com",
        "inputs": {"word": "hello", "secret": "s3cr3t-Value"}, "dry_run": True}})
    assert response.status_code == 200, response.text
    [host] = response.json()["hosts"]
    assert host["name"] == "db1.example.com"
    assert host["script"] == "echo hello *****"
    assert host["script_sha512"] == hashlib.sha512(b"echo hello s3cr3t-Value").hexdigest()
    assert "s3cr3t" not in response.text
    assert (await fleet.get("/api/job_invocations")).json()["total"] == before


async def test_targets_stay_within_what_the_user_may_see(fleet, live):
    await make_filtered_role(fleet, "Web viewers", "hostgroup = web")
    await make_filtered_role(fleet, "Job runners", "",
                             ("view_job_invocations", "create_job_invocations"))
    await make_user(fleet, "webrunner", ["Web viewers", "Job runners"])
    async with live.client_as("webrunner", PASSWORD) as runner:
        response = await runner.post("/api/jobs", json={
            "name": "x", "script": "true", "targets": {"tag": "linux"}, "dry_run": True})
        assert response.status_code == 200, response.text
        assert [h["name"] for h in response.json()["hosts"]] == [
            "web1.example.com", "web2.example.com"]
        refused = await runner.post("/api/jobs", json={
            "name": "x", "script": "true", "targets": {"all": True}})
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["missing_permissions"] == ["admin"]


REFUSED = [
    ({"script": "true", "targets": {"all": True}}, "name", "blank"),
    ({"name": "x", "targets": {"all": True}}, "script", "blank"),
    ({"name": "x", "script": "true"}, "targets", "blank"),
    ({"name": "x", "script": "true", "targets": {"all": True}, "runtime": "perl"}, "runtime",
     "one of"),
    ({"name": "x", "script": "true", "targets": {"all": True}, "colour": "red"}, "colour",
     "not a job field"),
    ({"name": "x", "script": "true", "targets": {}}, "targets", "at least one"),
    ({"name": "x", "script": "true", "targets": {"planet": "mars"}}, "targets", "unknown key"),
    ({"name": "x", "script": "true", "targets": {"all": True, "tag": "web"}}, "targets.all",
     "stands alone"),
    ({"name": "x", "script": "true", "targets": {"all": "yes"}}, "targets.all", "true"),
    ({"name": "x", "script": "true", "targets": {"tag": "web and"}}, "targets.tag", "ends"),
    ({"name": "x", "script": "true", "targets": {"tag": "(web"}}, "targets.tag", "unclosed"),
    ({"name": "x", "script": "true", "targets": {"tag": "web db"}}, "targets.tag", "'db'"),
    ({"name": "x", "script": "true", "targets": {"hosts": ["nope.example.com"]}}, "targets.hosts",
     "nope.example.com"),
    ({"name": "x", "script": "true", "targets": {"hosts": "web1"}}, "targets.hosts", "list"),
    ({"name": "x", "script": "true", "targets": {"search": "name ="}}, "targets.search", ""),
    ({"name": "x", "script": "true", "targets": {"group": "nobody"}}, "targets", "no host"),
    ({"name": "x", "script": "true", "targets": {"all": True}, "retry_count": 9}, "retry_count",
     "0 to 5"),
    ({"name": "x", "script": "true", "targets": {"all": True}, "timeout": 0}, "timeout", "1 to"),
    ({"name": "x", "script": "true", "targets": {"all": True}, "schedule": "every day"},
     "cron_line", ""),
    ({"name": "x", "script": "true", "targets": {"all": True}, "offline_ttl": 0},
     "offline_ttl", "1 to"),
    ({"name": "x", "script": "true", "targets": {"all": True}, "retry_delay": -1}, "retry_delay",
     "0 to"),
    ({"name": "x", "script": "true", "targets": {"all": True}, "variables": {"1A": "1"}},
     "variables", "not an environment variable name"),
    ({"name": "x", "script": "true", "targets": {"all": True}, "variables": {"A": [1]}},
     "variables", "string or a number"),
    ({"name": "x", "script": "true", "targets": {"all": True},
      "secrets": [{"env": "TOKEN", "vault_key": "no/such/key"}]}, "secrets",
     "unknown vault key no/such/key"),
    ({"name": "x", "script": "true", "targets": {"all": True},
      "secrets": [{"env": "BAD-NAME", "vault_key": "k"}]}, "secrets", "not an environment"),
    ({"name": "x", "script": "true", "targets": {"all": True},
      "secrets": [{"env": "A"}]}, "secrets", "vault_key"),
]


async def test_a_wrong_job_is_a_422_naming_the_field_and_nothing_is_written(fleet):
    for body, field, words in REFUSED:
        response = await fleet.post("/api/jobs", json=body)
        assert response.status_code == 422, (body, response.text)
        error = response.json()["error"]
        assert field in error["errors"], (body, error)
        assert words in " ".join(error["errors"][field]), (body, error)
    assert (await fleet.get("/api/jobs")).json()["total"] == 0
    assert (await fleet.get("/api/job_invocations")).json()["total"] == 0


WRONG_TYPES = [
    {"name": 5, "script": "true", "targets": {"all": True}},
    {"name": "x", "script": "true", "targets": ["web"]},
    {"name": "x", "script": "true", "targets": {"all": True}, "dry_run": "maybe"},
    {"name": "x", "script": "true", "targets": {"all": True}, "queue_offline": "maybe"},
    [1, 2, 3],
]


async def test_wrong_types_are_a_422(api):
    for body in WRONG_TYPES:
        response = await api.post("/api/jobs", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["message"]


async def test_unknown_jobs_are_404(api):
    for method, path in (("get", "/api/jobs/99"), ("get", "/api/jobs/99/executions"),
                         ("post", "/api/jobs/99/cancel"), ("delete", "/api/jobs/99"),
                         ("get", "/api/jobs/abc")):
        response = await api.request(method.upper(), path, json={} if method == "post" else None)
        assert response.status_code == 404, (path, response.text)
        assert "not found" in response.json()["error"]["message"]


async def test_os_names_with_wildcard_characters_match_literally(api):
    for name, os_name in (("u1.example.com", "my_os 1"), ("u2.example.com", "myXos 1")):
        made = await api.post("/api/hosts", json={"host": {"name": name, "ip": "127.0.0.1",
                                                           "operatingsystem_name": os_name}})
        assert made.status_code == 201, made.text
    assert await planned(api, {"os": "my_os"}) == ["u1.example.com"]


async def test_a_host_the_user_cannot_see_is_unknown_to_them(fleet, live):
    await make_filtered_role(fleet, "Web only", "hostgroup = web")
    await make_filtered_role(fleet, "Runners", "", ("view_job_invocations", "create_job_invocations"))
    await make_user(fleet, "webby", ["Web only", "Runners"])
    async with live.client_as("webby", PASSWORD) as webby:
        refused = await webby.post("/api/jobs", json={
            "name": "x", "script": "true", "targets": {"hosts": ["db1.example.com"]}})
    assert refused.status_code == 422, refused.text
    assert "unknown hosts: db1.example.com" in refused.text
