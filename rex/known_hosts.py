"""Stored SSH host keys: which endpoint a host connects to, and forgetting its key."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from rex.config import Settings
from rex.hosts import parameter_values
from rex.models import Host, KnownHostKey
from rex.secrets import Vault

__all__ = ["endpoint_of", "forget_host_key"]


def endpoint_of(host: Host, *, vault: Vault, settings: Settings) -> str:
    """Return the `[address]:port` a host's known key is stored under."""
    port = parameter_values(host, vault).get("remote_execution_ssh_port") or settings.ssh_port
    return f"[{host.ip or host.name}]:{port}"


async def forget_host_key(
    session: AsyncSession, *, host: Host, vault: Vault, settings: Settings
) -> tuple[str, bool]:
    """Forget the stored key of a host (after a rebuild); return its endpoint and if one was stored."""
    endpoint = endpoint_of(host, vault=vault, settings=settings)
    result = await session.execute(delete(KnownHostKey).where(KnownHostKey.endpoint == endpoint))
    return endpoint, bool(result.rowcount)
