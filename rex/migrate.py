"""Schema migrations through alembic, callable from code and from `rex db upgrade`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

__all__ = ["alembic_config", "sync_url", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def sync_url(url: str) -> str:
    """Return the synchronous driver URL for an async one (alembic runs synchronously)."""
    return url.replace("sqlite+aiosqlite", "sqlite")


def alembic_config(url: str) -> Config:
    """Build the alembic configuration for the database at `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision`."""
    command.upgrade(alembic_config(url), revision)
