"""Shared fixtures: databases (SQLite and PostgreSQL) and the CI no-skip rule."""

from __future__ import annotations

import pytest

from rex.db import Database
from tests.dbkit import IN_CI, postgres_url, sqlite_url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> str:
    """A migrated, empty database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        return postgres_url()
    return sqlite_url(tmp_path)


@pytest.fixture
async def database(db_url):
    """A `Database` on a migrated, empty schema (SQLite and PostgreSQL)."""
    db = Database(db_url)
    yield db
    await db.dispose()


_CI_SKIPS: list[str] = []


def pytest_runtest_logreport(report):
    """Remember tests that need a real part (sshd, sudo, PostgreSQL) and skipped."""
    if IN_CI and report.skipped and ({"postgres", "sshd"} & set(report.keywords)):
        _CI_SKIPS.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    """Under CI=true a test that needs sshd, sudo or PostgreSQL must not skip: fail the run."""
    if _CI_SKIPS:
        print(f"\nCI=true: these tests need sshd/sudo/PostgreSQL and skipped: {_CI_SKIPS}")
        session.exitstatus = 1


@pytest.fixture
async def live(tmp_path, db_url):
    """A live rex server over HTTP (no worker), once on SQLite and once on PostgreSQL."""
    from tests.apikit import start_server, test_settings

    server = await start_server(test_settings(tmp_path, db_url))
    yield server
    await server.stop()


@pytest.fixture
async def api(live):
    """An httpx client logged in as admin to a live rex server."""
    return live.client
