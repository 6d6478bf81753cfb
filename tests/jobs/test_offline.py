"""Offline hosts: queued until they come back (within offline_ttl), or skipped by a firing."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from rex.models import JobInvocation
from tests.dbkit import sqlite_url
from tests.jobs.conftest import rex_settings, start_rex
from tests.jobs.helpers import add_host, wait_until

pytestmark = pytest.mark.sshd


@pytest.fixture
async def rex_fast_offline(tmp_path, sshd_rig):
    """rex trying offline hosts again every 0.3 s."""
    server = await start_rex(rex_settings(tmp_path, sqlite_url(tmp_path), sshd_rig,
                                          offline_retry_seconds=0.3))
    yield server
    await server.stop()


async def job_state(api, job_id: int) -> dict:
    return (await api.get(f"/api/jobs/{job_id}")).json()


async def debug_lines(api, invocation_id: int, host: str) -> list[str]:
    output = (await api.get(f"/api/job_invocations/{invocation_id}/hosts/{host}")).json()
    return [o["output"] for o in output["output"] if o["output_type"] == "debug"]


async def wait_done(api, job_id: int, timeout: float = 30) -> dict:
    async def done():
        job = await job_state(api, job_id)
        return job if job["status"] not in ("pending", "running") else None
    return await wait_until(done, timeout=timeout)


async def test_an_offline_host_waits_and_runs_when_it_comes_back(rex_fast_offline, sshd_rig):
    api = rex_fast_offline.client
    host = sshd_rig.start_host()
    sshd_rig.stop_host(host)  # its port is known, nothing listens there yet
    await add_host(api, "later.example.com", host)
    made = await api.post("/api/jobs", json={
        "name": "wait for it", "script": "echo back", "queue_offline": True, "offline_ttl": 60,
        "retry_count": 0, "targets": {"hosts": ["later.example.com"]}})
    assert made.status_code == 201, made.text
    job = made.json()
    invocation = job["invocation_ids"][0]

    async def waiting():
        lines = await debug_lines(api, invocation, "later.example.com")
        return len([x for x in lines if x.startswith("Host offline; trying again in")]) >= 2

    await wait_until(waiting, timeout=20)
    [row] = (await api.get(f"/api/jobs/{job['id']}/executions")).json()["results"]
    assert row["status"] in ("pending", "running")
    assert (await job_state(api, job["id"]))["status"] in ("pending", "running")
    sshd_rig.start_host(port=host.port)
    try:
        assert (await wait_done(api, job["id"]))["status"] == "succeeded"
        [row] = (await api.get(f"/api/jobs/{job['id']}/executions")).json()["results"]
        assert (row["attempt"], row["status"], row["stdout"]) == (1, "success", "back\n")
    finally:
        sshd_rig.stop_host(host)


async def test_a_host_that_stays_offline_fails_when_offline_ttl_runs_out(rex_fast_offline,
                                                                         sshd_rig):
    api = rex_fast_offline.client
    host = sshd_rig.start_host()
    sshd_rig.stop_host(host)
    await add_host(api, "gone.example.com", host)
    started = time.monotonic()
    job = (await api.post("/api/jobs", json={
        "name": "never", "script": "true", "queue_offline": True, "offline_ttl": 2,
        "retry_count": 3, "targets": {"hosts": ["gone.example.com"]}})).json()
    assert (await wait_done(api, job["id"]))["status"] == "failed"
    assert time.monotonic() - started >= 2.0
    rows = (await api.get(f"/api/jobs/{job['id']}/executions")).json()["results"]
    assert [(r["attempt"], r["status"]) for r in rows] == [(1, "failed")]  # no retry_count used
    lines = await debug_lines(api, job["invocation_ids"][0], "gone.example.com")
    assert lines[-1] == "Host stayed offline for 2 s (offline_ttl); giving up"


async def test_a_scheduled_firing_skips_an_unreachable_host(rex_fast_offline, sshd_rig):
    api = rex_fast_offline.client
    host = sshd_rig.start_host()
    sshd_rig.stop_host(host)
    await add_host(api, "asleep.example.com", host)
    job = (await api.post("/api/jobs", json={
        "name": "nightly", "script": "true", "schedule": "0 3 * * *", "retry_count": 2,
        "targets": {"hosts": ["asleep.example.com"]}})).json()
    firing = job["invocation_ids"][0]
    async with rex_fast_offline.runtime.db.unit_of_work() as session:  # the firing is due now
        now = rex_fast_offline.runtime.clock()
        await session.execute(update(JobInvocation).where(JobInvocation.id == firing)
                              .values(start_at=now - timedelta(seconds=1)))
    rex_fast_offline.runtime.notify_work()

    async def finished():
        rows = (await api.get(f"/api/jobs/{job['id']}/executions")).json()["results"]
        return rows if rows and rows[0]["status"] not in ("pending", "running") else None

    rows = await wait_until(finished, timeout=20)
    assert (rows[0]["invocation_id"], rows[0]["attempt"], rows[0]["status"]) == (
        firing, 1, "skipped")  # not retried either
    assert all(r["status"] == "pending" for r in rows[1:])  # the next firing, waiting
    lines = await debug_lines(api, firing, "asleep.example.com")
    assert lines[-1].startswith("Host unreachable during a scheduled run: skipped")
