"""Job definitions from REX_JOBS_DIR over HTTP with real sshd: reloads, validate, runs, triggers."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from rex.models import HostRun
from tests.dbkit import sqlite_url
from tests.jobs.conftest import rex_settings, start_rex
from tests.jobs.helpers import add_host, wait_job, wait_until
from tests.jobs.test_scheduling import FakeClock

pytestmark = pytest.mark.sshd


@pytest.fixture
async def jobs_dir(tmp_path):
    path = tmp_path / "jobs"
    path.mkdir()
    return path


@pytest.fixture
async def rexj(tmp_path, sshd_rig, jobs_dir):
    """rex reading `jobs_dir` every 0.1 s."""
    server = await start_rex(rex_settings(tmp_path, sqlite_url(tmp_path), sshd_rig,
                                          jobs_dir=jobs_dir, jobs_dir_poll_seconds=0.1))
    yield server
    await server.stop()


def write(jobs_dir, def_id: str, **fields) -> None:
    body = {"id": def_id, "name": f"job {def_id}", "targets": {"tag": "defs"},
            "tasks": [{"id": "t", "command": "echo ran"}], **fields}
    path = jobs_dir / f"{def_id}.json"
    path.write_text(json.dumps(body))
    stamp = time.time() + 1 + len(list(jobs_dir.iterdir()))  # a new mtime, even within a second
    os.utime(path, (stamp, stamp))


async def listing(api) -> dict[str, dict]:
    rows = (await api.get("/api/job_definitions")).json()["results"]
    return {r["filename"]: r for r in rows}


async def definition_jobs(api, def_id: str) -> list[dict]:
    jobs = (await api.get("/api/job_invocations", params={"per_page": 100})).json()["results"]
    shown = [(await api.get(f"/api/job_invocations/{j['id']}")).json() for j in jobs]
    return [j for j in shown if j.get("job_definition_id") == def_id]


async def test_files_are_loaded_reloaded_and_unloaded_by_polling_only(rexj, jobs_dir):
    api = rexj.client
    write(jobs_dir, "good")
    (jobs_dir / "broken.json").write_text("{not json")
    write(jobs_dir, "twomodes", schedule={"intervalMinutes": 5, "cronExpression": "* * * * *"})

    async def loaded():
        rows = await listing(api)
        return rows if {"good.json", "broken.json", "twomodes.json"} <= set(rows) else None

    rows = await wait_until(loaded, timeout=10)
    assert rows["good.json"]["valid"] is True
    assert rows["broken.json"]["valid"] is False and "cannot read" in rows["broken.json"]["errors"][0]["message"]
    assert rows["twomodes.json"]["errors"][0]["path"] == "schedule"
    write(jobs_dir, "good", tasks=[{"id": "t", "ExecutionType": "UserDesktop", "command": "x"}])
    write(jobs_dir, "twomodes", schedule={"intervalMinutes": 5})
    (jobs_dir / "broken.json").unlink()

    async def reloaded():
        rows = await listing(api)
        return rows if (not rows.get("good.json", {}).get("valid", True)
                        and rows.get("twomodes.json", {}).get("valid")
                        and "broken.json" not in rows) else None

    rows = await wait_until(reloaded, timeout=10)
    assert rows["good.json"]["errors"][0]["path"] == "tasks[0].ExecutionType"
    assert (await api.get("/api/job_definitions/good")).status_code == 404  # unloaded
    assert (await api.put("/api/job_definitions/twomodes", json={})).status_code == 405
    assert (await api.delete("/api/job_definitions/twomodes")).status_code == 405
    assert (await api.post("/api/job_definitions", json={})).status_code == 405


VALIDATE = [
    ({"id": "other", "name": "x", "tasks": [{"id": "t", "command": "true"}]}, "id"),
    ({"id": "v", "tasks": [{"id": "t", "command": "true"}]}, "name"),
    ({"id": "v", "name": "x"}, "tasks"),
    ({"id": "v", "name": "x", "tasks": [{"id": "t", "command": "true"}],
      "schedule": {"runAt": "2030-01-01T00:00:00Z", "calendar": []}}, "schedule"),
    ({"id": "v", "name": "x", "tasks": [{"id": "t", "command": "true"}],
      "schedule": {"cronExpression": "every day"}}, "schedule.cronExpression"),
    ({"id": "v", "name": "x", "tasks": [{"id": "t", "command": "true"}],
      "condition": "params.x", "alternateJobId": "nowhere"}, "alternateJobId"),
    ({"id": "v", "name": "x", "tasks": [{"id": "t", "executablePath": "/bin/echo",
                                         "arguments": ["{missing}"]}]}, "tasks[0].arguments"),
    ({"id": "v", "name": "x", "tasks": [{"id": "t", "command": "x", "ExecutionType": "Teleport"}]},
     "tasks[0].ExecutionType"),
    ({"id": "v", "name": "x", "tasks": [{"id": "t", "ExecutionType": "Http", "url": "ftp://x"}]},
     "tasks[0].url"),
    ({"id": "v", "name": "x", "tasks": [{"id": "t", "command": "x"}], "priority": 11}, "priority"),
]


async def test_validate_answers_each_error_with_its_path(rexj, jobs_dir):
    api = rexj.client
    for body, path in VALIDATE:
        answer = await api.post("/api/job_definitions/validate", params={"filename": "v.json"},
                                json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["valid"] is False
        assert path in [e["path"] for e in answer.json()["errors"]], (body, answer.text)
    past = await api.post("/api/job_definitions/validate", params={"filename": "v.json"}, json={
        "id": "v", "name": "x", "tasks": [{"id": "t", "command": "true"}],
        "schedule": {"runAt": "2001-01-01T00:00:00Z"}})
    assert past.status_code == 200 and past.json()["valid"] is True
    assert "in the past" in past.json()["warnings"][0]
    write(jobs_dir, "a", condition="false", alternateJobId="b")
    write(jobs_dir, "b", condition="false", alternateJobId="a")
    rows = await wait_until(lambda: _has_both(api), timeout=10)
    for name in ("a.json", "b.json"):
        assert rows[name]["valid"] is False and "cycle" in rows[name]["errors"][0]["message"]
    itself = await api.post("/api/job_definitions/validate", params={"filename": "c.json"}, json={
        "id": "c", "name": "x", "tasks": [{"id": "t", "command": "true"}],
        "condition": "false", "alternateJobId": "c"})
    assert itself.status_code == 422 and "cycle" in itself.text


async def _has_both(api):
    rows = await listing(api)
    return rows if {"a.json", "b.json"} <= set(rows) else None


async def _has(api, filename: str) -> bool:
    return filename in await listing(api)


async def test_run_by_hand_tasks_in_order_with_parameters_quoted(rexj, jobs_dir, sshd_host):
    api = rexj.client
    await add_host(api, "def1.example.com", sshd_host, tags="defs")
    write(jobs_dir, "tasks", parameters=[{"name": "who", "type": "string", "default": "a b"}],
          tasks=[{"id": "greet", "command": "echo hello {who}", "ExecutionType": "User"},
                 {"id": "args", "executablePath": "/bin/echo", "arguments": ["[{who}]", "x;y"],
                  "ExecutionType": "User"},
                 {"id": "py", "script": "print(6 * 7)", "scriptType": "python",
                  "ExecutionType": "User"},
                 {"id": "soft", "command": "exit 3", "continueOnFailure": True,
                  "ExecutionType": "User"},
                 {"id": "hard", "command": "exit 4", "ExecutionType": "User"},
                 {"id": "never", "command": "echo never", "ExecutionType": "User"}])
    await wait_until(lambda: _has(api, "tasks.json"), timeout=10)
    shown = (await api.get("/api/job_definitions/tasks")).json()["definition"]["tasks"]
    assert shown[0]["sha512"] == hashlib.sha512(b"echo hello {who}").hexdigest()
    started = await api.post("/api/job_definitions/tasks/run", json={"parameters": {"who": "x'y"}})
    assert started.status_code == 201, started.text
    job_id = started.json()["job_invocation_id"]
    done = await wait_job(api, job_id)
    assert done["job_definition_id"] == "tasks" and done["failed"] == 1
    [plain] = [j for j in (await api.get("/api/jobs")).json()["results"]
               if j["job_definition_id"] == "tasks"]  # in the jobs API too
    assert plain["invocation_ids"] == [job_id] and plain["status"] == "failed"
    [row] = (await api.get(f"/api/jobs/{plain['id']}/executions")).json()["results"]
    assert (row["host_name"], row["exit_code"]) == ("def1.example.com", 4)
    output = (await api.get(f"/api/job_invocations/{job_id}/hosts/def1.example.com")).json()
    text = "".join(o["output"] for o in output["output"])
    assert "hello x'y" in text and "[x'y] x;y" in text and "42" in text
    assert "task soft failed with exit status 3" in text
    assert "task hard failed with exit status 4" in text and "never" not in text


async def test_schedules_fire_by_the_clock(rexj, jobs_dir, sshd_host):
    api = rexj.client
    clock = FakeClock()
    clock.now = clock.now.replace(second=30)  # never exactly on the hour "0 * * * *" fires at
    rexj.runtime.clock = clock
    await add_host(api, "sched.example.com", sshd_host, tags="defs")
    soon = clock.now + timedelta(minutes=30)
    weekday = soon.isoweekday()
    write(jobs_dir, "interval", schedule={"intervalMinutes": 10})
    write(jobs_dir, "cron", schedule={"cronExpression": "0 * * * *"})
    write(jobs_dir, "once", schedule={"runAt": soon.strftime("%Y-%m-%dT%H:%M:%SZ")})
    write(jobs_dir, "past", schedule={"runAt": "2001-01-01T00:00:00Z"})
    write(jobs_dir, "calendar", schedule={"calendar": [
        {"daysOfWeek": [weekday], "time": soon.strftime("%H:%M")}]})
    write(jobs_dir, "off", enabled=False, schedule={"intervalMinutes": 1})
    await wait_until(lambda: _count_loaded(api, 6), timeout=10)
    await asyncio.sleep(0.5)  # the loop stored when each was first loaded
    assert await _jobs_by_definition(api) == {}
    clock.advance(minutes=61)
    await wait_until(lambda: _jobs_settled(api, {"interval", "cron", "once", "calendar"}), timeout=20)
    counts = await _jobs_by_definition(api)
    assert counts == {"interval": 1, "cron": 1, "once": 1, "calendar": 1}
    # moving the clock while hosts run would expire their leases at once (lost workers)
    await wait_until(lambda: _none_running(api), timeout=30)
    clock.advance(minutes=10)
    await wait_until(lambda: _jobs_settled(api, {"interval"}, at_least=2), timeout=20)
    counts = await _jobs_by_definition(api)
    assert counts["once"] == 1 and "past" not in counts and "off" not in counts


async def _count_loaded(api, n: int) -> bool:
    rows = await listing(api)
    return sum(r["valid"] for r in rows.values()) >= n


async def _jobs_by_definition(api) -> dict[str, int]:
    counts: dict[str, int] = {}
    jobs = (await api.get("/api/job_invocations", params={"per_page": 200})).json()["results"]
    for job in jobs:
        shown = (await api.get(f"/api/job_invocations/{job['id']}",
                               params={"include_hosts": "false"})).json()
        if shown.get("job_definition_id"):
            counts[shown["job_definition_id"]] = counts.get(shown["job_definition_id"], 0) + 1
    return counts


async def _none_running(api) -> bool:
    jobs = (await api.get("/api/job_invocations", params={"per_page": 200})).json()["results"]
    return not any(j["status_label"] in ("queued", "running") for j in jobs)


async def _jobs_settled(api, names: set[str], at_least: int = 1) -> bool:
    counts = await _jobs_by_definition(api)
    return all(counts.get(n, 0) >= at_least for n in names)


async def test_events_os_filter_and_alternates(rexj, jobs_dir, sshd_host):
    api = rexj.client
    write(jobs_dir, "oncreate", events=["HostCreated"], targets=None,
          osFilter={"linux": True})
    write(jobs_dir, "onfacts", events=["HostFactsUpdated"], targets=None)
    write(jobs_dir, "custom", events=["deploy-finished"])
    write(jobs_dir, "check", condition="params.ready", alternateJobId="fallback",
          parameters=[{"name": "ready", "type": "boolean", "default": False}])
    write(jobs_dir, "fallback", tasks=[{"id": "t", "command": "echo fallback"}])
    await wait_until(lambda: _count_loaded(api, 5), timeout=10)
    await add_host(api, "win.example.com", sshd_host, tags="defs")  # no OS: osFilter skips it
    made = await api.post("/api/hosts", json={"host": {
        "name": "lin.example.com", "ip": sshd_host.address, "operatingsystem_name": "Debian 12",
        "host_parameters_attributes": [{"name": "remote_execution_ssh_port",
                                        "value": str(sshd_host.port)}]}})
    assert made.status_code == 201
    await api.post("/api/hosts/facts", json={"name": "lin.example.com", "facts": {"a": "1"}})
    fired = await api.post("/api/events", json={"name": "deploy-finished"})
    assert fired.json()["started"] == 1
    ran = await api.post("/api/job_definitions/check/run", json={})
    assert ran.status_code == 201
    counts = await _wait_counts(api, {"oncreate", "onfacts", "custom", "fallback"})
    assert counts == {"oncreate": 1, "onfacts": 1, "custom": 1, "fallback": 1}
    hosts = {}
    for def_id in ("oncreate", "custom"):
        [job] = await definition_jobs(api, def_id)
        hosts[def_id] = sorted(h["name"] for h in job["targeting"]["hosts"])
    assert hosts == {"oncreate": ["lin.example.com"],  # osFilter linux: win has no OS, skipped
                     "custom": ["win.example.com"]}  # its targets: tag defs


async def _wait_counts(api, names: set[str]) -> dict[str, int]:
    await wait_until(lambda: _jobs_settled(api, names), timeout=20)
    return await _jobs_by_definition(api)


async def test_higher_priority_runs_first_when_the_worker_is_busy(tmp_path, sshd_rig, jobs_dir,
                                                                  sshd_host):
    server = await start_rex(rex_settings(tmp_path, sqlite_url(tmp_path), sshd_rig,
                                          jobs_dir=jobs_dir, jobs_dir_poll_seconds=0.1,
                                          worker_concurrency=1))
    try:
        api = server.client
        await add_host(api, "prio.example.com", sshd_host, tags="defs")
        write(jobs_dir, "low", priority=1)
        write(jobs_dir, "high", priority=10)
        await wait_until(lambda: _count_loaded(api, 2), timeout=10)
        busy = (await api.post("/api/jobs", json={"name": "busy", "script": "sleep 1.5",
                                                  "targets": {"tag": "defs"}})).json()

        async def running():
            return (await api.get(f"/api/jobs/{busy['id']}")).json()["status"] == "running"

        await wait_until(running)
        low = (await api.post("/api/job_definitions/low/run", json={})).json()["job_invocation_id"]
        high = (await api.post("/api/job_definitions/high/run", json={})).json()["job_invocation_id"]
        started = await wait_until(_fresh(server, low, high), timeout=30)
        assert started[high] <= started[low]  # queued later, claimed first
    finally:
        await server.stop()


def _fresh(server, low: int, high: int):
    """Return a check for both runs finished: their start times by job id."""
    async def check():
        async with server.runtime.db.reader() as session:
            rows = (await session.execute(select(HostRun.job_invocation_id, HostRun.started_at)
                                          .where(HostRun.job_invocation_id.in_([low, high]),
                                                 HostRun.state == "finished"))).all()
        return dict(rows) if len(rows) == 2 else None

    return check


async def test_validate_checks_a_hosts_executables(rexj, sshd_host):
    api = rexj.client
    host = await add_host(api, "chk.example.com", sshd_host)
    body = {"id": "v", "name": "x", "tasks": [
        {"id": "ok", "executablePath": "/bin/echo", "ExecutionType": "User"},
        {"id": "gone", "executablePath": "/no/such/tool-rex", "ExecutionType": "User"}]}
    answer = await api.post("/api/job_definitions/validate",
                            params={"filename": "v.json", "check_host": host["id"]}, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == [{"path": "tasks[1].executablePath",
                                        "message": "/no/such/tool-rex is missing on chk.example.com"}]
    skipped = await api.post("/api/job_definitions/validate",  # osFilter leaves the host out
                             params={"filename": "v.json", "check_host": host["id"]},
                             json={**body, "osFilter": {"windows": True}})
    assert skipped.status_code == 200, skipped.text


async def test_http_tasks_are_requests_rex_makes_in_task_order(rexj, jobs_dir, sshd_host,
                                                               receiver):
    api = rexj.client
    await add_host(api, "http.example.com", sshd_host, tags="defs")
    receiver.flaky_failures = 100  # /flaky always answers 500
    tasks = [{"id": "before", "command": "echo before", "ExecutionType": "User"},
             {"id": "hook", "ExecutionType": "Http", "method": "POST",
              "url": receiver.url + "/ok", "body": "deployed {version}",
              "headers": {"X-Test": "1"}},
             {"id": "after", "command": "echo after", "ExecutionType": "User"}]
    write(jobs_dir, "web", tasks=tasks, parameters=[{"name": "version", "default": "1.2"}])
    failing = [*tasks[:1], {**tasks[1], "id": "bad", "url": receiver.url + "/flaky"}, tasks[2]]
    version = [{"name": "version", "default": "1.2"}]
    write(jobs_dir, "webfail", tasks=failing, parameters=version)
    write(jobs_dir, "websoft", tasks=[*failing[:1], {**failing[1], "continueOnFailure": True},
                                      failing[2]], parameters=version)
    await wait_until(lambda: _count_loaded(api, 3), timeout=10)
    outputs = {}
    for def_id in ("web", "webfail", "websoft"):
        job_id = (await api.post(f"/api/job_definitions/{def_id}/run", json={})).json()[
            "job_invocation_id"]
        done = await wait_job(api, job_id)
        body = (await api.get(f"/api/job_invocations/{job_id}/hosts/http.example.com")).json()
        outputs[def_id] = (done["succeeded"], [o["output"] for o in body["output"]])
    succeeded, lines = outputs["web"]
    text = "".join(lines)
    assert succeeded == 1
    assert text.index("before") < text.index("HTTP POST") < text.index("HTTP 204") < text.index(
        "\nafter")
    [call] = [c for c in receiver.calls if c["path"] == "/ok"]
    assert call["body"] == b"deployed 1.2" and call["headers"]["x-test"] == "1"
    succeeded, lines = outputs["webfail"]
    assert succeeded == 0 and "task bad failed with HTTP 500" in "".join(lines)
    assert "after" not in "".join(lines).split("HTTP POST")[1]
    succeeded, lines = outputs["websoft"]
    assert succeeded == 1 and "\nafter" in "".join(lines)
