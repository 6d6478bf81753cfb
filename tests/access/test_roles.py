"""/api/roles, /api/filters, /api/permissions: Foreman's shapes, locked built-ins, bad filters."""

from __future__ import annotations

import pytest

from rex.auth import LoginThrottle
from rex.permissions import BUILTIN_ROLES, PERMISSIONS, Grants

ROLE_KEYS = {"id": int, "name": str, "description": (str, type(None)), "builtin": int,
             "origin": (str, type(None)), "cloned_from_id": (int, type(None)), "filters": list}
FILTER_KEYS = {"id": int, "search": (str, type(None)), "resource_type": str, "unlimited?": bool,
               "override?": bool, "role": dict, "permissions": list, "created_at": str}


async def test_built_in_roles_are_seeded_with_their_permissions(api):
    listed = (await api.get("/api/roles", params={"per_page": "all"})).json()
    assert {r["name"] for r in listed["results"]} >= {r.name for r in BUILTIN_ROLES}
    for spec in BUILTIN_ROLES:
        role = (await api.get(f"/api/roles/{spec.name}")).json()
        for key, kind in ROLE_KEYS.items():
            assert isinstance(role[key], kind), (key, role)
        granted = {p["name"] for f in role["filters"] for p in f["permissions"]}
        assert granted == set(spec.permissions)
        assert all(f["unlimited?"] for f in role["filters"])


@pytest.mark.parametrize(("method", "path", "body"), [
    ("PUT", "/api/roles/Viewer", {"role": {"name": "Mine"}}),
    ("DELETE", "/api/roles/Viewer", None),
])
async def test_built_in_roles_are_locked(api, method, path, body):
    response = await api.request(method, path, json=body)
    assert response.status_code == 422
    assert response.json()["error"]["errors"] == {
        "base": ["This role is locked from being modified by users."]}


async def test_a_locked_roles_filters_are_locked_but_a_clone_is_free(api):
    viewer = (await api.get("/api/roles/Viewer")).json()
    first = viewer["filters"][0]["id"]
    assert (await api.delete(f"/api/filters/{first}")).status_code == 422
    added = await api.post("/api/filters", json={"filter": {
        "role_id": viewer["id"], "permission_ids": ["edit_hosts"]}})
    assert added.status_code == 422
    clone = await api.post(f"/api/roles/{viewer['id']}/clone", json={"role": {"name": "Mine"}})
    assert clone.status_code == 201, clone.text
    copy = clone.json()
    assert (copy["origin"], copy["cloned_from_id"], copy["locked"]) == (None, viewer["id"], False)
    assert sorted(p["name"] for f in copy["filters"] for p in f["permissions"]) == sorted(
        p["name"] for f in viewer["filters"] for p in f["permissions"])
    assert (await api.delete(f"/api/filters/{copy['filters'][0]['id']}")).status_code == 200


async def test_filters_round_trip_in_foremans_shape(api):
    role = (await api.post("/api/roles", json={"role": {"name": "Web"}})).json()
    made = await api.post("/api/filters", json={"filter": {
        "role_id": role["id"], "permission_ids": ["view_hosts", "edit_hosts"],
        "search": "hostgroup = web"}})
    assert made.status_code == 201, made.text
    body = made.json()
    for key, kind in FILTER_KEYS.items():
        assert isinstance(body[key], kind), (key, body)
    assert (body["resource_type"], body["unlimited?"], body["role"]["name"]) == ("Host", False, "Web")
    changed = await api.put(f"/api/filters/{body['id']}", json={"filter": {"search": None}})
    assert changed.json()["unlimited?"] is True
    found = (await api.get("/api/filters", params={"search": "role = Web"})).json()
    assert [f["id"] for f in found["results"]] == [body["id"]]


@pytest.mark.parametrize(("attrs", "field"), [
    ({"permission_ids": ["view_hosts"]}, "role_id"),
    ({"role_id": 999, "permission_ids": ["view_hosts"]}, "role_id"),
    ({"permission_ids": []}, "permission_ids"),
    ({"permission_ids": ["no_such_thing"]}, "permission_ids"),
    ({"permission_ids": ["view_hosts", "view_users"]}, "permission_ids"),
    ({"permission_ids": ["view_users"], "search": "login = x"}, "search"),
    ({"permission_ids": ["view_hosts"], "search": "hostgroup = = web"}, "search"),
    ({"permission_ids": ["view_hosts"], "search": "nosuchfield = 1"}, "search"),
])
async def test_bad_filters_are_refused_and_nothing_is_written(api, attrs, field):
    role = (await api.post("/api/roles", json={"role": {"name": "Target"}})).json()
    if field != "role_id":
        attrs = {"role_id": role["id"], **attrs}
    response = await api.post("/api/filters", json={"filter": attrs})
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["errors"]
    assert (await api.get(f"/api/roles/{role['id']}")).json()["filters"] == []


async def test_permissions_list_foremans_names_by_resource_type(api):
    listed = (await api.get("/api/permissions", params={"per_page": "all"})).json()
    assert {p["name"]: p["resource_type"] for p in listed["results"]} == PERMISSIONS
    hosts = (await api.get("/api/permissions", params={"resource_type": "Host"})).json()
    assert {p["name"] for p in hosts["results"]} == {
        "view_hosts", "create_hosts", "edit_hosts", "destroy_hosts"}
    searched = (await api.get("/api/permissions", params={"search": "name ~ view_job*"})).json()
    assert {p["name"] for p in searched["results"]} == {"view_job_templates",
                                                         "view_job_invocations"}
    one = (await api.get("/api/permissions/view_hosts")).json()
    assert (await api.get(f"/api/permissions/{one['id']}")).json() == one
    types = (await api.get("/api/permissions/resource_types")).json()["results"]
    assert {"name": "Host", "searchable": True} in types


def test_grants_cover_only_what_they_hold():
    web = Grants(searches={"view_hosts": ("hostgroup = web",)})
    everything = Grants(searches={"view_hosts": (None,)})
    assert everything.covers(web) and not web.covers(everything)
    assert web.covers(Grants(searches={"view_hosts": ("hostgroup = web",)}))
    assert not web.covers(Grants(searches={"view_hosts": ("hostgroup = db",)}))
    assert not everything.covers(Grants(admin=True)) and Grants(admin=True).covers(everything)
    assert web.scope("edit_hosts") is not None  # not granted: matches nothing, not everything
    assert everything.scope("view_hosts") is None


def test_login_throttle_doubles_the_wait_up_to_a_cap_and_forgets():
    now = [0.0]
    throttle = LoginThrottle(free=2, base=1.0, cap=8.0, forget_after=100.0, max_logins=3,
                             clock=lambda: now[0])
    assert [throttle.delay(n) for n in range(1, 9)] == [0, 1, 2, 4, 8, 8, 8, 8]
    throttle.failed("x")
    throttle.check("x")
    throttle.failed("x")
    with pytest.raises(Exception, match="try again in 1 s"):
        throttle.check("x")
    now[0] = 1.5
    throttle.check("x")
    throttle.succeeded("x")
    for name in ("a", "b", "c", "d"):
        throttle.failed(name)
    assert "a" not in throttle._failures and len(throttle._failures) == 3
    now[0] = 1000.0
    throttle.failed("b")
    throttle.check("b")  # the old failures were forgotten: this is the first again


async def test_seeding_is_idempotent_and_repairs_built_in_roles(tmp_path, db_url):
    from sqlalchemy import delete, func, select

    from rex.models import Filter, Permission, Role
    from rex.runtime import open_runtime
    from tests import apikit

    settings = apikit.test_settings(tmp_path, db_url)
    counts = []
    for _ in range(2):
        runtime = await open_runtime(settings)
        async with runtime.db.unit_of_work() as session:
            counts.append([await session.scalar(select(func.count()).select_from(model))
                           for model in (Permission, Role, Filter)])
            viewer = await session.scalar(select(Role.id).where(Role.name == "Viewer"))
            await session.execute(delete(Filter).where(Filter.role_id == viewer))
        await runtime.close()
    assert counts[0] == counts[1] == [len(PERMISSIONS), len(BUILTIN_ROLES), counts[0][2]]
    runtime = await open_runtime(settings)
    async with runtime.db.reader() as session:
        restored = await session.scalar(select(func.count()).select_from(Filter))
    await runtime.close()
    assert restored == counts[0][2]
