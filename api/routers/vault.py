"""/api/vault: secrets a job's script gets as environment variables; values are never shown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PagingDep, ReaderDep, RuntimeDep, SessionDep
from api.permissions import Allowed
from api.render import envelope, timestamp
from rex import audits, vault
from rex.models import VaultEntry

router = APIRouter(tags=["vault"])
KeyQuery = Annotated[str, Query(description="The entry's key (keys may contain /)")]


class VaultEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str | None = Field(default=None, description="Key, e.g. db/prod/password")
    value: str | None = Field(default=None, description="Secret value (write only)")
    description: str | None = Field(default=None, description="What it is for")


def render_entry(entry: VaultEntry) -> dict:
    """Render an entry without its value."""
    return {"id": entry.id, "key": entry.key, "description": entry.description,
            "created_at": timestamp(entry.created_at), "updated_at": timestamp(entry.updated_at)}


async def _audit(session, action: str, entry: VaultEntry, changed: list[str]) -> None:
    await audits.record(session, action=action, type_name="VaultEntry", auditable_id=entry.id,
                        name=entry.key, changes={"changed": changed})


@router.get("/vault", summary="List vault entries (keys only)")
async def index(session: ReaderDep, user: Allowed("view_vault"), paging: PagingDep,
                key: Annotated[str | None, Query(description="Only this key")] = None) -> dict:
    page = await vault.list_entries(session, request=paging, key=key)
    return envelope(page, paging, render_entry)


@router.post("/vault", status_code=status.HTTP_201_CREATED, summary="Store a secret")
async def create(body: VaultEntryIn, session: SessionDep, runtime: RuntimeDep,
                 user: Allowed("edit_vault")) -> dict:
    entry = await vault.create_entry(session, vault=runtime.vault,
                                     attrs=body.model_dump(exclude_unset=True))
    await _audit(session, "create", entry, sorted(body.model_dump(exclude_unset=True)))
    return render_entry(entry)


@router.get("/vault/entry", summary="Show a vault entry by key")
async def show_by_key(key: KeyQuery, session: ReaderDep, user: Allowed("view_vault")) -> dict:
    return render_entry(await vault.find_entry(session, key=key))


@router.put("/vault/entry", summary="Change a vault entry by key")
async def update_by_key(key: KeyQuery, body: VaultEntryIn, session: SessionDep,
                        runtime: RuntimeDep, user: Allowed("edit_vault")) -> dict:
    return await _update(session, runtime, await vault.find_entry(session, key=key), body)


@router.delete("/vault/entry", summary="Delete a vault entry by key")
async def destroy_by_key(key: KeyQuery, session: SessionDep, user: Allowed("edit_vault")) -> dict:
    return await _destroy(session, await vault.find_entry(session, key=key))


@router.get("/vault/{id}", summary="Show a vault entry")
async def show(id: str, session: ReaderDep, user: Allowed("view_vault")) -> dict:
    return render_entry(await vault.find_entry(session, ref=id))


@router.put("/vault/{id}", summary="Change a vault entry")
async def update(id: str, body: VaultEntryIn, session: SessionDep, runtime: RuntimeDep,
                 user: Allowed("edit_vault")) -> dict:
    return await _update(session, runtime, await vault.find_entry(session, ref=id), body)


@router.delete("/vault/{id}", summary="Delete a vault entry")
async def destroy(id: str, session: SessionDep, user: Allowed("edit_vault")) -> dict:
    return await _destroy(session, await vault.find_entry(session, ref=id))


async def _update(session, runtime, entry: VaultEntry, body: VaultEntryIn) -> dict:
    attrs = body.model_dump(exclude_unset=True)
    await vault.update_entry(session, vault=runtime.vault, entry=entry, attrs=attrs)
    await _audit(session, "update", entry, sorted(attrs))
    return render_entry(entry)


async def _destroy(session, entry: VaultEntry) -> dict:
    body = render_entry(entry)
    await vault.delete_entry(session, entry=entry)
    await _audit(session, "destroy", entry, [])
    return body
