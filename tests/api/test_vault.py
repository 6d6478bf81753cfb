"""/api/vault: secrets stored encrypted, listed by key, never shown; every refused body."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rex.models import VaultEntry
from tests.access.conftest import PASSWORD, make_user

SECRET = "vault-Value-9931"


async def test_create_list_show_update_delete_by_id_and_by_key(api, live):
    made = await api.post("/api/vault", json={"key": "db/prod/password", "value": SECRET,
                                              "description": "prod db"})
    assert made.status_code == 201, made.text
    entry = made.json()
    assert set(entry) == {"id", "key", "description", "created_at", "updated_at"}
    listed = (await api.get("/api/vault", params={"search": "key ~ db/*"})).json()
    assert [e["key"] for e in listed["results"]] == ["db/prod/password"]
    by_key = await api.get("/api/vault/entry", params={"key": "db/prod/password"})
    assert by_key.json()["id"] == entry["id"]
    changed = await api.put("/api/vault/entry", params={"key": "db/prod/password"},
                            json={"value": "new-" + SECRET})
    assert changed.status_code == 200, changed.text
    async with live.runtime.db.reader() as session:
        stored = await session.scalar(select(VaultEntry.value))
    assert SECRET not in stored and live.runtime.vault.decrypt(stored) == "new-" + SECRET
    assert (await api.put(f"/api/vault/{entry['id']}", json={"description": "d"})).status_code == 200
    assert (await api.delete(f"/api/vault/{entry['id']}")).status_code == 200
    assert (await api.get(f"/api/vault/{entry['id']}")).status_code == 404
    audits = (await api.get("/api/audits", params={"search": "type = VaultEntry"})).text
    assert "db/prod/password" in audits and SECRET not in audits


@pytest.mark.parametrize(("body", "field"), [
    ({"value": "x"}, "key"),
    ({"key": "/lead", "value": "x"}, "key"),
    ({"key": "a//b", "value": "x"}, "key"),
    ({"key": "sp ace", "value": "x"}, "key"),
    ({"key": "k"}, "value"),
    ({"key": "k", "value": ""}, "value"),
])
async def test_bad_entries_are_a_422_and_nothing_is_stored(api, body, field):
    response = await api.post("/api/vault", json=body)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["errors"]
    assert (await api.get("/api/vault")).json()["total"] == 0


async def test_a_taken_key_a_renamed_key_and_unknown_entries(api):
    assert (await api.post("/api/vault", json={"key": "k", "value": "v"})).status_code == 201
    taken = await api.post("/api/vault", json={"key": "k", "value": "w"})
    assert taken.status_code == 422 and "taken" in taken.text
    renamed = await api.put("/api/vault/entry", params={"key": "k"}, json={"key": "other"})
    assert renamed.status_code == 422
    for path, params in (("/api/vault/999", None), ("/api/vault/entry", {"key": "none"})):
        assert (await api.get(path, params=params)).status_code == 404
    assert (await api.get("/api/vault/entry")).status_code == 422  # key is required


async def test_users_see_keys_and_only_managers_change_them(api, live):
    await api.post("/api/vault", json={"key": "k", "value": SECRET})
    await make_user(api, "runner", ["Remote Execution User"])
    async with live.client_as("runner", PASSWORD) as runner:
        assert (await runner.get("/api/vault")).json()["total"] == 1
        refused = await runner.post("/api/vault", json={"key": "k2", "value": "v"})
        assert refused.status_code == 403
        assert refused.json()["error"]["missing_permissions"] == ["edit_vault"]
