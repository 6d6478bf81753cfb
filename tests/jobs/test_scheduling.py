"""Scheduling: future starts, missed windows, cron recurrences, concurrency, pickup timeouts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest

from rex.services import start_background
from tests.apikit import start_server
from tests.dbkit import sqlite_url
from tests.jobs.conftest import rex_settings
from tests.jobs.helpers import add_host, run_command, wait_job, wait_until

pytestmark = pytest.mark.sshd


class FakeClock:
    """A clock the test moves by hand (the sweeps and the API read it)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def iso(moment: datetime) -> str:
    return moment.isoformat()


@pytest.fixture
def clock(rexd) -> FakeClock:
    fake = FakeClock()
    rexd.runtime.clock = fake
    return fake


async def logic_of(api, job: dict) -> dict:
    return (await api.get(f"/foreman_tasks/api/recurring_logics/{job['recurrence']['id']}")).json()


async def test_future_job_waits_then_runs(rexd, clock, sshd_host):
    api = rexd.client
    await add_host(api, "later.example.com", sshd_host)
    start = clock.now + timedelta(hours=1)
    job = await run_command(api, "echo later", "name = later.example.com",
                            scheduling={"start_at": iso(start)})
    assert (job["status"], job["status_label"], job["mode"]) == (2, "queued", "future")
    assert job["scheduling"]["start_at"] == start.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert (job["total"], job["succeeded"]) == ("N/A", 0)
    output = (await api.get(f"/api/job_invocations/{job['id']}/hosts/later.example.com")).json()
    assert output == {"complete": False, "refresh": True, "output": [], "delayed": True,
                      "start_at": job["scheduling"]["start_at"]}
    await asyncio.sleep(0.5)
    still = (await api.get(f"/api/job_invocations/{job['id']}")).json()
    assert still["status_label"] == "queued"
    clock.advance(hours=1, seconds=1)
    done = await wait_job(api, job["id"])
    assert (done["status_label"], done["succeeded"]) == ("succeeded", 1)


async def test_times_with_offsets_are_honoured(rexd, clock, sshd_host):
    api = rexd.client
    await add_host(api, "tz.example.com", sshd_host)
    local = (clock.now + timedelta(hours=2)).astimezone(timezone(timedelta(hours=5)))
    job = await run_command(api, "true", "name = tz.example.com",
                            scheduling={"start_at": local.isoformat()})
    expected = (clock.now + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert job["scheduling"]["start_at"] == expected


async def test_missed_start_before_fails_the_job(rexd, clock, sshd_host):
    api = rexd.client
    await add_host(api, "window.example.com", sshd_host)
    start = clock.now + timedelta(minutes=10)
    job = await run_command(api, "true", "name = window.example.com", scheduling={
        "start_at": iso(start), "start_before": iso(start + timedelta(minutes=5))})
    clock.advance(minutes=30)
    done = await wait_job(api, job["id"])
    assert done["status_label"] == "failed"
    output = (await api.get(f"/api/job_invocations/{job['id']}/hosts/window.example.com")).json()
    assert "could not be started before set time" in output["output"][0]["output"]


async def test_cancel_before_start_is_cancelled(rexd, clock, sshd_host):
    api = rexd.client
    await add_host(api, "never.example.com", sshd_host)
    job = await run_command(api, "true", "name = never.example.com",
                            scheduling={"start_at": iso(clock.now + timedelta(days=1))})
    response = await api.post(f"/api/job_invocations/{job['id']}/cancel", json={})
    assert response.json() == {"cancelled": True, "id": job["id"]}
    shown = (await api.get(f"/api/job_invocations/{job['id']}")).json()
    assert (shown["status"], shown["status_label"]) == (4, "cancelled")


async def test_recurrence_runs_max_iteration_times(rexd, clock, sshd_host):
    api = rexd.client
    await add_host(api, "cron.example.com", sshd_host)
    job = await run_command(api, "echo tick", "name = cron.example.com",
                            recurrence={"cron_line": "* * * * *", "max_iteration": 3,
                                        "purpose": "ticks"})
    assert (job["mode"], job["status_label"]) == ("recurring", "queued")
    recurrence = job["recurrence"]
    assert {k: recurrence[k] for k in ("cron_line", "max_iteration", "state", "iteration")} == {
        "cron_line": "* * * * *", "max_iteration": 3, "state": "active", "iteration": 1}
    await run_minutes(api, clock, job, 5)
    logic = await wait_until(lambda: _finished(api, job))
    assert (logic["task_count"], logic["state"]) == (3, "finished")
    listed = (await api.get("/api/job_invocations")).json()["results"]
    assert len(listed) == 3
    for item in listed:
        assert (await wait_job(api, item["id"]))["status_label"] == "succeeded"


async def run_minutes(api, clock: FakeClock, job: dict, minutes: int) -> None:
    """Move the clock a minute at a time, each time until that minute's firing has started."""
    for _ in range(minutes):
        clock.advance(minutes=1)

        async def fired() -> bool:
            jobs = (await api.get("/api/job_invocations", params={"search": "status = queued"}))
            logic = await logic_of(api, job)
            return logic["state"] != "active" or all(
                j["start_at"] > clock.now.strftime("%Y-%m-%d %H:%M:%S UTC")
                for j in jobs.json()["results"])

        await wait_until(fired, timeout=10, step=0.05)


async def _finished(api, job):
    logic = await logic_of(api, job)
    return logic if logic["state"] == "finished" else None


async def test_recurrence_end_time_is_honoured(rexd, clock, sshd_host):
    api = rexd.client
    await add_host(api, "end.example.com", sshd_host)
    first_minute = clock.now.replace(second=0) + timedelta(minutes=1)
    job = await run_command(api, "true", "name = end.example.com", recurrence={
        "cron_line": "* * * * *", "end_time": iso(first_minute + timedelta(seconds=90))})
    await run_minutes(api, clock, job, 5)
    logic = await wait_until(lambda: _finished(api, job))
    assert logic["task_count"] == 2


async def test_disable_enable_and_cancel_a_recurrence(rexd, clock, sshd_host):
    api = rexd.client
    # off a */5 boundary: made exactly on one, the first firing is due at once
    clock.now = clock.now.replace(second=30) + timedelta(minutes=int(clock.now.minute % 5 == 0))
    await add_host(api, "pause.example.com", sshd_host)
    job = await run_command(api, "true", "name = pause.example.com",
                            recurrence={"cron_line": "*/5 * * * *", "purpose": "paused"})
    logic_id = job["recurrence"]["id"]
    path = f"/foreman_tasks/api/recurring_logics/{logic_id}"
    disabled = await api.put(path, json={"recurring_logic": {"enabled": False}})
    assert disabled.json()["state"] == "disabled"
    clock.advance(minutes=10)
    await asyncio.sleep(0.5)
    assert (await api.get(f"/api/job_invocations/{job['id']}")).json()["status_label"] == "queued"
    duplicate = await api.post("/api/job_invocations", json={"job_invocation": {
        "feature": "run_script", "search_query": "name = pause.example.com",
        "inputs": {"command": "true"},
        "recurrence": {"cron_line": "* * * * *", "purpose": "paused"}}})
    assert duplicate.status_code == 422 and "purpose" in duplicate.json()["error"]["errors"]
    enabled = await api.put(path, json={"recurring_logic": {"enabled": True}})
    assert enabled.json()["state"] == "active"
    cancelled = await api.post(f"{path}/cancel", json={})
    assert cancelled.json()["state"] == "cancelled"
    shown = (await api.get(f"/api/job_invocations/{job['id']}")).json()
    assert shown["status_label"] == "cancelled"


@pytest.mark.parametrize("line", ["foo", "* * *", "99 * * * *"])
async def test_bad_cron_line_is_422(rexd, line):
    response = await rexd.client.post("/api/job_invocations", json={"job_invocation": {
        "feature": "run_script", "search_query": "name = x", "inputs": {"command": "true"},
        "recurrence": {"cron_line": line}}})
    assert response.status_code == 422
    assert "cron line" in response.json()["error"]["message"]
    assert (await rexd.client.get("/foreman_tasks/api/recurring_logics")).json()["total"] == 0


async def test_concurrency_level_bounds_overlap_and_refills(rexd, sshd_host, sshd_rig):
    api = rexd.client
    log = sshd_rig.workdir() / f"concurrency-{id(rexd)}.log"
    log.unlink(missing_ok=True)
    for i in range(6):
        await add_host(api, f"cc{i}.example.com", sshd_host)
    command = (f'echo "start $(date +%s.%N)" >> {log}; sleep 0.4; '
               f'echo "end $(date +%s.%N)" >> {log}')
    job = await run_command(api, command, "name ~ cc*",
                            concurrency_control={"concurrency_level": 2})
    done = await wait_job(api, job["id"])
    assert (done["succeeded"], done["concurrency_level"]) == (6, 2)
    events = sorted((float(t), kind) for kind, t in (line.split() for line in log.read_text().splitlines()))
    running, peak, ends = 0, 0, 0
    for _, kind in events:
        running += 1 if kind == "start" else -1
        peak = max(peak, running)
    starts = [t for t, kind in events if kind == "start"]
    finishes = sorted(t for t, kind in events if kind == "end")
    assert peak <= 2
    for n, start in enumerate(starts[2:], start=1):
        ends = sum(1 for f in finishes if f <= start)
        assert ends >= n, "a start after the first two must follow a finish"


async def test_time_to_pickup_fails_hosts_when_no_worker(tmp_path, sshd_rig, sshd_host):
    settings = rex_settings(tmp_path, sqlite_url(tmp_path), sshd_rig)
    server = await start_server(settings, background=lambda rt: start_background(rt, worker=False))
    try:
        api = server.client
        await add_host(api, "idle.example.com", sshd_host)
        job = await run_command(api, "true", "name = idle.example.com", time_to_pickup=1)
        done = await wait_job(api, job["id"], timeout=15)
        assert (done["status_label"], done["failed"]) == ("failed", 1)
        output = (await api.get(f"/api/job_invocations/{job['id']}/hosts/idle.example.com")).json()
        assert output["output"][0]["output"] == "The job was not picked up in time"
    finally:
        await server.stop()
