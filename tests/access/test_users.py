"""/api/users and personal access tokens: CRUD, disabling, self-protection, no escalation."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from rex.models import PersonalAccessToken, User, utcnow
from tests.access.conftest import PASSWORD, make_filtered_role, make_user, role_id

USER_KEYS = {"id": int, "login": str, "firstname": (str, type(None)), "mail": (str, type(None)),
             "admin": bool, "disabled": bool, "auth_source_name": str, "created_at": str,
             "roles": list}


async def test_create_show_search_update_delete(api):
    made = await make_user(api, "alice", ["Viewer"], firstname="Alice", mail="a@example.com")
    for key, kind in USER_KEYS.items():
        assert isinstance(made[key], kind), (key, made)
    assert [r["name"] for r in made["roles"]] == ["Viewer"]
    assert "password" not in made and "password_hash" not in made
    assert (await api.get(f"/api/users/{made['id']}")).json() == made
    assert (await api.get("/api/users/alice")).json()["id"] == made["id"]
    found = (await api.get("/api/users", params={"search": "login = alice"})).json()
    assert [u["login"] for u in found["results"]] == ["alice"]
    changed = await api.put(f"/api/users/{made['id']}", json={"user": {"lastname": "Smith",
                                                                       "role_ids": []}})
    assert (changed.json()["lastname"], changed.json()["roles"]) == ("Smith", [])
    assert (await api.delete(f"/api/users/{made['id']}")).status_code == 200
    assert (await api.get(f"/api/users/{made['id']}")).status_code == 404


@pytest.mark.parametrize(("attrs", "field", "problem"), [
    ({"login": "", "password": "long-enough"}, "login", "can't be blank"),
    ({"login": "bad login", "password": "long-enough"}, "login", "is invalid"),
    ({"login": "admin", "password": "long-enough"}, "login", "has already been taken"),
    ({"login": "bob"}, "password", "can't be blank"),
    ({"login": "bob", "password": "short"}, "password", "is too short (minimum is 8 characters)"),
    ({"login": "bob", "password": "long-enough", "mail": "nope"}, "mail", "is invalid"),
    ({"login": "bob", "password": "long-enough", "role_ids": [999]}, "role_ids",
     "unknown roles: 999"),
])
async def test_bad_users_are_refused_with_the_field(api, attrs, field, problem):
    response = await api.post("/api/users", json={"user": attrs})
    assert response.status_code == 422
    assert problem in response.json()["error"]["errors"][field]
    assert (await api.get("/api/users", params={"search": "login = bob"})).json()["subtotal"] == 0


async def test_a_disabled_user_gets_foremans_401_until_enabled(live):
    made = await make_user(live.client, "carol", ["Viewer"])
    async with live.client_as("carol", PASSWORD) as carol:
        assert (await carol.get("/api/hosts")).status_code == 200
        await live.client.put(f"/api/users/{made['id']}", json={"user": {"disabled": True}})
        refused = await carol.get("/api/hosts")
        assert refused.status_code == 401
        assert refused.json() == {"error": {
            "message": "User account is disabled, please contact your administrator"}}
        await live.client.put(f"/api/users/{made['id']}", json={"user": {"disabled": False}})
        assert (await carol.get("/api/hosts")).status_code == 200


@pytest.mark.parametrize(("attrs", "field"), [
    ({"disabled": True}, "disabled"),
    ({"admin": False}, "admin"),
    ({"password": "new-password-1"}, "current_password"),
    ({"password": "new-password-1", "current_password": "wrong"}, "current_password"),
])
async def test_nobody_locks_themselves_out(api, attrs, field):
    response = await api.put("/api/users/admin", json={"user": attrs})
    assert response.status_code == 422
    assert field in response.json()["error"]["errors"]
    assert (await api.get("/api/current_user")).status_code == 200


async def test_you_cannot_delete_yourself(api):
    response = await api.delete("/api/users/admin")
    assert response.status_code == 422
    assert (await api.get("/api/current_user")).status_code == 200


async def test_changing_a_password_ends_the_old_one_at_once(live):
    await make_user(live.client, "dave", [])
    async with live.client_as("dave", PASSWORD) as dave:
        assert (await dave.get("/api/current_user")).status_code == 200  # now remembered
        changed = await dave.put("/api/users/dave", json={"user": {
            "password": "dave-new-pw", "current_password": PASSWORD}})
        assert changed.status_code == 200, changed.text
        assert (await dave.get("/api/current_user")).status_code == 401
    async with live.client_as("dave", "dave-new-pw") as dave:
        assert (await dave.get("/api/current_user")).status_code == 200


async def test_a_user_manager_cannot_hand_out_more_than_they_hold(live):
    api = live.client
    managers = await api.post("/api/roles", json={"role": {"name": "User managers"}})
    await api.post("/api/filters", json={"filter": {
        "role_id": managers.json()["id"],
        "permission_ids": ["view_users", "create_users", "edit_users"]}})
    await make_user(api, "erin", ["User managers", "Remote Execution User"])
    strong = await make_user(api, "frank", ["Remote Execution Manager"])
    rex_user, manager = (await role_id(api, "Remote Execution User"),
                         await role_id(api, "Remote Execution Manager"))
    async with live.client_as("erin", PASSWORD) as erin:
        admin_flag = await erin.post("/api/users", json={"user": {
            "login": "sneaky", "password": "long-enough", "admin": True}})
        assert admin_flag.status_code == 422 and "admin" in admin_flag.json()["error"]["errors"]
        stronger = await erin.post("/api/users", json={"user": {
            "login": "sneaky", "password": "long-enough", "role_ids": [manager]}})
        assert stronger.status_code == 422
        assert "role_ids" in stronger.json()["error"]["errors"]
        same = await erin.post("/api/users", json={"user": {
            "login": "helper", "password": "long-enough", "role_ids": [rex_user]}})
        assert same.status_code == 201, same.text
        for target in ("admin", str(strong["id"])):
            edit = await erin.put(f"/api/users/{target}", json={"user": {"password": "x" * 9}})
            assert edit.status_code == 403, edit.text
            token = await erin.post(f"/api/users/{target}/personal_access_tokens",
                                    json={"name": "steal"})
            assert token.status_code == 403
        self_escalation = await erin.put("/api/users/erin", json={"user": {"role_ids": [manager]}})
        assert self_escalation.status_code == 422


async def test_filters_cannot_grant_what_their_author_lacks(live):
    api = live.client
    editors = await api.post("/api/roles", json={"role": {"name": "Role editors"}})
    await api.post("/api/filters", json={"filter": {
        "role_id": editors.json()["id"], "permission_ids": ["view_filters", "create_filters"]}})
    await make_user(api, "gina", ["Role editors"])
    target = await api.post("/api/roles", json={"role": {"name": "Target"}})
    async with live.client_as("gina", PASSWORD) as gina:
        grab = await gina.post("/api/filters", json={"filter": {
            "role_id": target.json()["id"], "permission_ids": ["edit_users"]}})
        assert grab.status_code == 422
        assert "permission_ids" in grab.json()["error"]["errors"]
        allowed = await gina.post("/api/filters", json={"filter": {
            "role_id": target.json()["id"], "permission_ids": ["view_filters"]}})
        assert allowed.status_code == 201, allowed.text


async def _token(api, user: str, **attrs) -> dict:
    response = await api.post(f"/api/users/{user}/personal_access_tokens",
                              json={"personal_access_token": {"name": "ci", **attrs}})
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_token_is_shown_once_works_as_password_and_bearer_and_is_revoked(live):
    api = live.client
    await make_user(api, "hank", ["Viewer"])
    made = await _token(api, "hank")
    value = made["token_value"]
    assert value.startswith(f"rex_{made['id']}_") and made["active?"] is True
    listed = (await api.get("/api/users/hank/personal_access_tokens")).json()["results"]
    assert [t["id"] for t in listed] == [made["id"]] and "token_value" not in listed[0]
    async with live.client_as("hank", value) as basic:
        assert (await basic.get("/api/current_user")).json()["login"] == "hank"
    async with httpx.AsyncClient(base_url=live.url,
                                 headers={"Authorization": f"Bearer {value}"}) as bearer:
        assert (await bearer.get("/api/current_user")).json()["login"] == "hank"
        async with live.client_as("admin", value) as other_login:
            assert (await other_login.get("/api/current_user")).status_code == 401
        revoked = await api.delete(f"/api/users/hank/personal_access_tokens/{made['id']}")
        assert revoked.json()["revoked?"] is True
        assert (await bearer.get("/api/current_user")).status_code == 401
    async with live.runtime.db.reader() as session:
        stored = await session.scalar(select(PersonalAccessToken.token_hash))
    assert stored == hashlib.sha256(value.encode()).hexdigest()


async def test_an_expired_token_is_refused(live):
    api = live.client
    made = await _token(api, "admin", expires_at="2999-01-01 00:00:00")
    async with httpx.AsyncClient(base_url=live.url,
                                 headers={"Authorization": f"Bearer {made['token_value']}"}) as c:
        assert (await c.get("/api/current_user")).status_code == 200
        async with live.runtime.db.unit_of_work() as session:
            await session.execute(update(PersonalAccessToken).values(
                expires_at=utcnow() - timedelta(seconds=1)))
        assert (await c.get("/api/current_user")).status_code == 401
    past = await api.post("/api/users/admin/personal_access_tokens",
                          json={"name": "old", "expires_at": "2001-01-01"})
    assert past.status_code == 422


async def test_failed_logins_are_slowed_and_logged(live, caplog):
    await make_user(live.client, "ivan", [])
    async with live.client_as("ivan", "wrong-password") as wrong:
        for _ in range(5):
            assert (await wrong.get("/api/current_user")).status_code == 401
        refused = await wrong.get("/api/current_user")
    assert refused.status_code == 401 and refused.headers["Retry-After"] == "1"
    assert refused.json()["error"]["message"].startswith("Too many failed logins for ivan")
    async with live.client_as("ivan", PASSWORD) as right:
        assert (await right.get("/api/current_user")).status_code == 401  # right, but too soon
        await asyncio.sleep(1.1)
        assert (await right.get("/api/current_user")).status_code == 200
    assert "failed login for 'ivan' (5 in a row): further attempts refused for 1 s" in caplog.text
    assert "wrong-password" not in caplog.text


async def test_users_in_the_database_hold_only_argon2_hashes(live):
    await make_user(live.client, "judy", [])
    async with live.runtime.db.reader() as session:
        stored = await session.scalar(select(User.password_hash).where(User.login == "judy"))
    assert stored.startswith("$argon2") and PASSWORD not in stored


async def test_a_filtered_role_sees_only_its_hosts(live):
    api = live.client
    await make_filtered_role(api, "Web only", "hostgroup = web")
    await make_user(api, "kim", ["Web only"])
    for name, group in (("w1", "web"), ("w2", "web"), ("d1", "db")):
        await api.post("/api/hosts", json={"host": {"name": name, "hostgroup_name": group}})
    async with live.client_as("kim", PASSWORD) as kim:
        listed = (await kim.get("/api/hosts")).json()
        assert ([h["name"] for h in listed["results"]], listed["total"]) == (["w1", "w2"], 2)
        searched = (await kim.get("/api/hosts", params={"search": "name ~ *1"})).json()
        assert [h["name"] for h in searched["results"]] == ["w1"]
        assert (await kim.get("/api/hosts/d1")).status_code == 404
