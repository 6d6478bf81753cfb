"""Stored SSH host keys: which endpoint a host connects to, and forgetting its key."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rex.config import Settings
from rex.hosts import parameter_values
from rex.models import Host, KnownHostKey
from rex.secrets import Vault

if TYPE_CHECKING:
    from rex.runtime import Runtime

__all__ = ["DatabaseKnownHosts", "endpoint_of", "forget_host_key"]

log = logging.getLogger("rex.known_hosts")


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


class DatabaseKnownHosts:
    """Host keys accepted on first use, stored in the database by `[address]:port`.

    Keys of claimed hosts are loaded in one query per batch (`prime`), so a host's key check
    costs no database round trip of its own.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._db = runtime.db
        self._cache: dict[str, str | None] = {}

    async def prime(self, endpoints: set[str]) -> None:
        """Load the stored keys of a claimed batch's `endpoints`, replacing older ones.

        The cache lives for one batch only, so a key forgotten through the API (or stored by
        another worker) is seen by the next batch.
        """
        async with self._db.reader() as session:
            rows = dict((await session.execute(
                select(KnownHostKey.endpoint, KnownHostKey.public_key)
                .where(KnownHostKey.endpoint.in_(list(endpoints)))
            )).all())
        self._cache = {endpoint: rows.get(endpoint) for endpoint in endpoints}

    async def get(self, endpoint: str) -> str | None:
        """Return the stored key of `endpoint`, if any."""
        if endpoint in self._cache:
            return self._cache[endpoint]
        async with self._db.reader() as session:
            key = await session.scalar(
                select(KnownHostKey.public_key).where(KnownHostKey.endpoint == endpoint)
            )
        self._cache[endpoint] = key
        return key

    async def remember(self, endpoint: str, public_key: str) -> None:
        """Store the first key seen for `endpoint` (a concurrent first store wins)."""
        self._cache[endpoint] = public_key
        try:
            async with self._db.unit_of_work() as session:
                session.add(KnownHostKey(endpoint=endpoint, public_key=public_key))
        except IntegrityError:  # another worker stored it first; the key check runs next time
            self._cache.pop(endpoint, None)
            log.info("host key for %s was stored concurrently", endpoint)
