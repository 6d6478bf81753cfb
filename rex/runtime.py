"""The running rex: settings, database, vault and authenticator, opened once per process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from rex import audits, integrity
from rex.auth import Authenticator
from rex.config import Settings
from rex.db import Database
from rex.migrate import upgrade
from rex.models import utcnow
from rex.secrets import Vault, load_vault
from rex.seeds import seed
from rex.users import ensure_admin, tune_hashing

__all__ = ["Runtime", "open_runtime"]


@dataclass
class Runtime:
    """Everything a rex process shares between requests and background work."""

    settings: Settings
    db: Database
    vault: Vault
    authenticator: Authenticator = field(default_factory=Authenticator)
    clock: Callable[[], datetime] = utcnow
    generated_admin_password: str | None = None
    services: dict = field(default_factory=dict)

    def notify_work(self) -> None:
        """Tell this process's worker (if any) that new work may be runnable."""
        for wake in self.services.get("wakers", ()):
            wake()

    async def close(self) -> None:
        """Release the database pool."""
        await self.db.dispose()


async def open_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    """Prepare the data dir, migrate the schema, and make sure the first admin exists."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    audits.install()
    integrity.install()
    tune_hashing(settings.password_hash_memory_kib)
    vault = load_vault(settings)
    url = settings.effective_database_url
    if migrate:
        await asyncio.to_thread(upgrade, url)
    db = Database(url)
    runtime = Runtime(settings=settings, db=db, vault=vault)
    async with db.unit_of_work() as session:
        runtime.generated_admin_password = await ensure_admin(
            session, password=settings.admin_password
        )
        await seed(session)
    await _run_hooks(runtime)
    return runtime


STARTUP_HOOKS: list[Callable[[Runtime], object]] = []


async def _run_hooks(runtime: Runtime) -> None:
    for hook in STARTUP_HOOKS:
        result = hook(runtime)
        if asyncio.iscoroutine(result):
            await result
