"""Fixtures of the job tests: a live rex with its worker, and real sshd hosts."""

from __future__ import annotations

import asyncio

import pytest

from rex.services import start_background
from tests.apikit import start_server, test_settings
from tests.dbkit import postgres_url, sqlite_url
from tests.jobs.receiver import Receiver
from tests.sshd import LOGIN, SshdRig, sshd_host_fixture, sshd_rig_fixture  # noqa: F401


def rex_settings(tmp_path, db_url, rig: SshdRig, **overrides):
    """Settings of a rex that logs into the rig's hosts as LOGIN with the rig's key."""
    values = {
        "ssh_identity_file": rig.client_key,
        "ssh_user": LOGIN,
        "effective_user": LOGIN,
        "remote_working_dir": str(rig.workdir()),
        "host_key_policy": "accept-new",
    }
    values.update(overrides)
    return test_settings(tmp_path, db_url, **values)


async def start_rex(settings):
    """Start rex with its worker and sweeps, as `rex serve` does."""
    return await start_server(settings, background=lambda rt: start_background(rt, worker=True))


@pytest.fixture
async def rexd(tmp_path, sshd_rig):
    """A live rex on SQLite with its worker, logging into the rig's hosts."""
    server = await start_rex(rex_settings(tmp_path, sqlite_url(tmp_path), sshd_rig))
    yield server
    await server.stop()


@pytest.fixture
async def rexd_pg(tmp_path, sshd_rig):
    """A live rex on PostgreSQL with its worker."""
    server = await start_rex(rex_settings(tmp_path, postgres_url(), sshd_rig))
    yield server
    await server.stop()


@pytest.fixture
async def receiver():
    """An HTTP receiver on 127.0.0.1: /ok answers 204, /flaky 500 (a few times), /slow sleeps."""
    made = Receiver()
    made.server = await asyncio.start_server(made.handle, "127.0.0.1", 0)
    yield made
    made.server.close()
