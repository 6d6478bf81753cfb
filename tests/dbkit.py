"""Test databases: a migrated SQLite file per test and the shared PostgreSQL `test` database."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from rex.migrate import sync_url, upgrade
from rex.models import Base

PG_URL = os.environ.get("REX_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_pg_migrated = False


def require(condition: bool, reason: str) -> None:
    """Skip locally when a real part is missing; under CI=true fail instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def postgres_reachable() -> bool:
    """Tell whether PostgreSQL answers on 127.0.0.1:5432."""
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


_sqlite_template: Path | None = None


def sqlite_url(tmp_path: Path) -> str:
    """Return a fresh, migrated SQLite database URL under `tmp_path` (a copy of one migrated file)."""
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="rex-sqlite-template-"))
        upgrade(f"sqlite+aiosqlite:///{folder / 'template.sqlite3'}")
        _sqlite_template = folder / "template.sqlite3"
    target = tmp_path / "rex-test.sqlite3"
    shutil.copyfile(_sqlite_template, target)
    return f"sqlite+aiosqlite:///{target}"


def postgres_url() -> str:
    """Return the PostgreSQL test URL with an empty, migrated schema."""
    global _pg_migrated
    require(postgres_reachable(), "PostgreSQL is not running at 127.0.0.1:5432")
    engine = create_engine(sync_url(PG_URL))
    with engine.begin() as conn:
        if not _pg_migrated:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    if not _pg_migrated:
        upgrade(PG_URL)
        _pg_migrated = True
    return PG_URL
