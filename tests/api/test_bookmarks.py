"""/api/bookmarks: CRUD, who sees which, search by name and controller, every bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rex.models import Role, User, UserRole
from rex.users import hash_password

OTHER_PASSWORD = "other-user-pw"


async def make_user(live, login: str, role: str | None = "Remote Execution User") -> None:
    """Add a plain (non-admin) user with one built-in role straight to the database."""
    async with live.runtime.db.unit_of_work() as session:
        user = User(login=login, password_hash=hash_password(OTHER_PASSWORD))
        session.add(user)
        await session.flush()
        if role is not None:
            role_id = await session.scalar(select(Role.id).where(Role.name == role))
            session.add(UserRole(user_id=user.id, role_id=role_id))


async def make_bookmark(api, **attrs) -> dict:
    """Create a bookmark and return it."""
    body = {"name": "web", "query": "name ~ web*", "controller": "hosts", **attrs}
    response = await api.post("/api/bookmarks", json={"bookmark": body})
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_show_update_delete_round_trip(api):
    made = await make_bookmark(api, public=True)
    assert {k: made[k] for k in ("name", "query", "controller", "public", "owner_type")} == {
        "name": "web", "query": "name ~ web*", "controller": "hosts", "public": True,
        "owner_type": "User"}
    assert isinstance(made["id"], int) and isinstance(made["owner_id"], int)
    assert (await api.get(f"/api/bookmarks/{made['id']}")).json() == made
    changed = await api.put(f"/api/bookmarks/{made['id']}", json={"query": "name ~ db*"})
    assert changed.status_code == 200 and changed.json()["query"] == "name ~ db*"
    gone = await api.delete(f"/api/bookmarks/{made['id']}")
    assert gone.status_code == 200 and gone.json()["id"] == made["id"]
    assert (await api.get(f"/api/bookmarks/{made['id']}")).status_code == 404


async def test_index_searches_name_and_controller_a_comma_meaning_and(api):
    await make_bookmark(api, name="web")
    await make_bookmark(api, name="web", controller="job_invocations", query="status = failed")
    await make_bookmark(api, name="db", query="name ~ db*")
    found = (await api.get("/api/bookmarks",
                           params={"search": 'name="web",controller="hosts"'})).json()
    assert [(b["name"], b["controller"]) for b in found["results"]] == [("web", "hosts")]
    assert found["total"] == 3 and found["subtotal"] == 1
    bad = await api.get("/api/bookmarks", params={"search": "owner = x"})
    assert bad.status_code == 400


BAD_BODIES = [
    ({"query": "a", "controller": "hosts"}, "name"),
    ({"name": "x", "controller": "hosts"}, "query"),
    ({"name": "x", "query": "a"}, "controller"),
    ({"name": "x", "query": "a", "controller": "no_such_controller"}, "controller"),
    ({"name": "x" * 256, "query": "a", "controller": "hosts"}, "name"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
async def test_bad_bookmarks_are_422_naming_the_field(api, body, field):
    response = await api.post("/api/bookmarks", json={"bookmark": body})
    assert response.status_code == 422
    assert any(key.split(".")[-1] == field for key in response.json()["error"]["errors"])
    assert (await api.get("/api/bookmarks")).json()["total"] == 0


async def test_a_taken_name_for_the_same_controller_is_422(api):
    await make_bookmark(api)
    again = await api.post("/api/bookmarks", json={"bookmark": {
        "name": "web", "query": "x", "controller": "hosts"}})
    assert again.status_code == 422
    assert again.json()["error"]["errors"] == {"name": ["has already been taken"]}


async def test_private_bookmarks_are_their_owners_and_only_owners_change_them(live, api):
    private = await make_bookmark(api, name="mine", public=False)
    public = await make_bookmark(api, name="ours", public=True)
    await make_user(live, "other")
    async with live.client_as("other", OTHER_PASSWORD) as other:
        names = [b["name"] for b in (await other.get("/api/bookmarks")).json()["results"]]
        assert names == ["ours"]
        assert (await other.get(f"/api/bookmarks/{private['id']}")).status_code == 404
        denied = await other.put(f"/api/bookmarks/{public['id']}", json={"query": "x"})
        assert denied.status_code == 403
        assert (await other.delete(f"/api/bookmarks/{public['id']}")).status_code == 403
        own = await other.post("/api/bookmarks", json={"bookmark": {
            "name": "theirs", "query": "name ~ x*", "controller": "hosts"}})
        assert own.status_code == 201
    names = [b["name"] for b in (await api.get("/api/bookmarks")).json()["results"]]
    assert names == ["mine", "ours", "theirs"]  # an admin sees every bookmark


@pytest.mark.parametrize(("role", "view", "create"), [
    ("Viewer", 200, 403), ("Remote Execution User", 200, 201),
    ("Remote Execution Manager", 200, 201), (None, 403, 403)])
async def test_bookmark_permissions_by_role(live, api, role, view, create):
    await make_user(live, "someone", role)
    async with live.client_as("someone", OTHER_PASSWORD) as client:
        assert (await client.get("/api/bookmarks")).status_code == view
        made = await client.post("/api/bookmarks", json={"bookmark": {
            "name": "b", "query": "name ~ b*", "controller": "hosts"}})
        assert made.status_code == create
        if create == 403:
            assert made.json()["error"]["missing_permissions"] == ["create_bookmarks"]


async def create_job(client, **fields) -> dict:
    """Create a "Run Command - Script Default" job; return the response."""
    body = {"feature": "run_script", "inputs": {"command": "true"}, **fields}
    return await client.post("/api/job_invocations", json={"job_invocation": body})


async def test_a_job_targets_a_bookmarks_query(api):
    for name in ("web1.example.com", "web2.example.com", "db1.example.com"):
        await api.post("/api/hosts", json={"host": {"name": name}})
    bookmark = await make_bookmark(api, name="webs", query="name ~ web*")
    response = await create_job(api, bookmark_id=bookmark["id"])
    assert response.status_code == 201, response.text
    targeting = response.json()["targeting"]
    assert (targeting["bookmark_id"], targeting["bookmark_name"]) == (bookmark["id"], "webs")
    assert targeting["search_query"] == "name ~ web*"
    assert sorted(h["name"] for h in targeting["hosts"]) == ["web1.example.com",
                                                             "web2.example.com"]


async def test_a_dynamic_job_rereads_its_bookmark_at_each_run(api):
    for name in ("web1.example.com", "db1.example.com"):
        await api.post("/api/hosts", json={"host": {"name": name}})
    bookmark = await make_bookmark(api, name="moving", query="name ~ web*")
    body = {"job_template_id": (await api.get("/api/job_templates", params={
        "search": 'name = "Run Command - Script Default"'})).json()["results"][0]["id"],
        "targeting_type": "dynamic_query", "bookmark_id": bookmark["id"],
        "inputs": {"command": "true"}}
    job = (await api.post("/api/job_invocations", json={"job_invocation": body})).json()
    assert [h["name"] for h in job["targeting"]["hosts"]] == ["web1.example.com"]
    await api.put(f"/api/bookmarks/{bookmark['id']}", json={"query": "name ~ db*"})
    rerun = await api.post(f"/api/job_invocations/{job['id']}/rerun", json={})
    assert rerun.status_code == 201, rerun.text
    shown = (await api.get(f"/api/job_invocations/{rerun.json()['id']}")).json()
    assert [h["name"] for h in shown["targeting"]["hosts"]] == ["db1.example.com"]
    assert shown["targeting"]["bookmark_id"] == bookmark["id"]


async def test_bookmarks_a_job_may_not_target_are_422_and_no_job_is_made(live, api):
    await api.post("/api/hosts", json={"host": {"name": "web1.example.com"}})
    private = await make_bookmark(api, name="mine", public=False)
    jobs_bookmark = await make_bookmark(api, name="failed", controller="job_invocations",
                                        query="status = failed", public=True)
    both = await create_job(api, bookmark_id=private["id"], search_query="name ~ x")
    assert both.status_code == 422
    assert "Cannot specify both" in both.json()["error"]["message"]
    for bookmark_id in (9999, jobs_bookmark["id"]):
        response = await create_job(api, bookmark_id=bookmark_id)
        assert response.status_code == 422
        assert response.json()["error"]["errors"] == {
            "bookmark_id": [f"bookmark {bookmark_id} was not found"]}
    await make_user(live, "other")
    async with live.client_as("other", OTHER_PASSWORD) as other:
        response = await create_job(other, bookmark_id=private["id"])
        assert response.status_code == 422
    assert (await api.get("/api/job_invocations")).json()["total"] == 0
