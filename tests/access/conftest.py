"""Fixtures of the access tests: users holding each built-in role, and a role limited to web hosts."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import pytest

PASSWORD = "role-user-pw-1"
BUILTIN = ("Viewer", "Remote Execution User", "Remote Execution Manager")
WEB_ROLE = "Web hosts viewer"


async def role_id(api: httpx.AsyncClient, name: str) -> int:
    """Return the id of the role called `name`."""
    response = await api.get(f"/api/roles/{name}")
    assert response.status_code == 200, response.text
    return response.json()["id"]


async def make_user(api: httpx.AsyncClient, login: str, roles: list[str], **attrs) -> dict:
    """Create a non-admin user holding `roles` (by name) with PASSWORD."""
    ids = [await role_id(api, name) for name in roles]
    response = await api.post("/api/users", json={"user": {
        "login": login, "password": PASSWORD, "role_ids": ids, **attrs}})
    assert response.status_code == 201, response.text
    return response.json()


async def make_filtered_role(api: httpx.AsyncClient, name: str, search: str,
                             permissions: tuple[str, ...] = ("view_hosts",)) -> int:
    """Create a role whose one filter grants `permissions` on the hosts `search` finds."""
    created = await api.post("/api/roles", json={"role": {"name": name}})
    assert created.status_code == 201, created.text
    made = await api.post("/api/filters", json={"filter": {
        "role_id": created.json()["id"], "permission_ids": list(permissions), "search": search}})
    assert made.status_code == 201, made.text
    return created.json()["id"]


@dataclass
class Cast:
    """Clients signed in as each kind of user: no role, each built-in role, web-only, admin."""

    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    async def close(self) -> None:
        """Close every client but the admin's (the server fixture owns it)."""
        for name, client in self.clients.items():
            if name != "admin":
                await client.aclose()


@pytest.fixture
async def cast(live):
    """One user per column of the permission matrix, on a live server."""
    api = live.client
    await make_filtered_role(api, WEB_ROLE, "hostgroup = web")
    result = Cast()
    for column, roles in (("none", []), ("viewer", ["Viewer"]),
                          ("user", ["Remote Execution User"]),
                          ("manager", ["Remote Execution Manager"]), ("web", [WEB_ROLE])):
        made = await make_user(api, f"u-{column}", roles)
        result.ids[column] = made["id"]
        result.clients[column] = live.client_as(f"u-{column}", PASSWORD)
    result.clients["admin"] = api
    result.ids["admin"] = (await api.get("/api/current_user")).json()["id"]
    yield result
    await result.close()
