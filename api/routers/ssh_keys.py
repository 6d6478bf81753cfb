"""rex's public SSH key for the hosts' authorized_keys, and forgetting a host's known key."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from api.deps import RuntimeDep, SessionDep
from api.permissions import Allowed
from rex import hosts
from rex.identity import ensure_identity, public_key_line
from rex.known_hosts import forget_host_key

router = APIRouter(tags=["ssh_keys"])


@router.get("/ssh_keys/public", response_class=PlainTextResponse, summary="rex's public SSH key")
async def public_key(runtime: RuntimeDep, user: Allowed()) -> str:
    settings = runtime.settings
    path = ensure_identity(settings)
    return public_key_line(path, settings.ssh_identity_passphrase) + "\n"


@router.delete("/hosts/{id}/ssh_host_key", summary="Forget a host's stored SSH host key")
async def forget(
    id: str, session: SessionDep, runtime: RuntimeDep, user: Allowed("edit_hosts")
) -> dict:
    host = await hosts.find_host(session, id, visible=user.scope("edit_hosts"))
    endpoint, existed = await forget_host_key(
        session, host=host, vault=runtime.vault, settings=runtime.settings
    )
    return {"host_id": host.id, "endpoint": endpoint, "forgotten": existed}
