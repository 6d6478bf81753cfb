"""The plain jobs API over HTTP against real sshd hosts: run, executions, dry run, delete."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time

import pytest
from sqlalchemy import select

from rex.models import HostRun
from tests.jobs.helpers import add_host, wait_job, wait_until
from tests.jobs.test_scheduling import FakeClock
from tests.sshd import EFFECTIVE

pytestmark = pytest.mark.sshd


@pytest.fixture(scope="module")
def two_hosts(sshd_rig):
    hosts = [sshd_rig.start_host() for _ in range(2)]
    yield hosts
    for host in hosts:
        sshd_rig.stop_host(host)


async def create(api, **body) -> dict:
    response = await api.post("/api/jobs", json={"name": "test job", **body})
    assert response.status_code == 201, response.text
    return response.json()


async def wait_plain(api, job_id: int, timeout: float = 60) -> dict:
    """Poll GET /api/jobs/:id until the job is neither pending nor running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = (await api.get(f"/api/jobs/{job_id}")).json()
        if job["status"] not in ("pending", "running"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['status']}")


async def executions(api, job_id: int) -> list[dict]:
    response = await api.get(f"/api/jobs/{job_id}/executions")
    assert response.status_code == 200, response.text
    return response.json()["results"]


async def test_a_job_runs_its_script_and_shows_one_execution_per_host(rexd, two_hosts):
    api = rexd.client
    for i, host in enumerate(two_hosts):
        await add_host(api, f"app{i}.example.com", host, tags="app")
    script = 'set -- $SSH_CONNECTION; echo "port $4 ${BASH_VERSINFO[0]}"; echo warn >&2; exit 3'
    job = await create(api, runtime="bash", script=script, targets={"tag": "app"}, timeout=60)
    assert job["status"] in ("pending", "running") and len(job["invocation_ids"]) == 1
    done = await wait_plain(api, job["id"])
    assert done["status"] == "failed"
    rows = await executions(api, job["id"])
    assert sorted(r["host_name"] for r in rows) == ["app0.example.com", "app1.example.com"]
    for row, host in zip(sorted(rows, key=lambda r: r["host_name"]), two_hosts, strict=True):
        assert row["stdout"].startswith(f"port {host.port} ") and row["stderr"] == "warn\n"
        assert (row["status"], row["exit_code"], row["attempt"]) == ("failed", 3, 1)
        assert row["duration_s"] >= 0 and row["invocation_id"] == job["invocation_ids"][0]
    # the same job through Foreman's API
    foreman = (await api.get(f"/api/job_invocations/{job['invocation_ids'][0]}")).json()
    assert (foreman["status_label"], foreman["failed"], foreman["description"]) == (
        "failed", 2, "test job")


@pytest.mark.parametrize(("runtime", "script", "status", "exit_code", "stdout"), [
    ("python", "print(6 * 7)", "success", 0, "42\n"),
    ("sh", "echo $((6 * 7))", "success", 0, "42\n"),
    ("pwsh", "Write-Output 42", "failed", 127, ""),
])
async def test_runtimes_through_the_api(rexd, two_hosts, runtime, script, status, exit_code,
                                        stdout):
    api = rexd.client
    await add_host(api, "rt.example.com", two_hosts[0])
    job = await create(api, runtime=runtime, script=script, targets={"hosts": ["rt.example.com"]})
    await wait_plain(api, job["id"])
    [row] = await executions(api, job["id"])
    assert (row["status"], row["exit_code"], row["stdout"]) == (status, exit_code, stdout)
    if runtime == "pwsh":
        output = (await api.get(f"/api/job_invocations/{job['invocation_ids'][0]}"
                                "/hosts/rt.example.com")).json()["output"]
        assert any("Runtime pwsh not found on 127.0.0.1:" in o["output"] for o in output)


async def test_a_dry_run_touches_no_host_and_the_real_run_does(rexd, two_hosts, sshd_rig):
    api = rexd.client
    await add_host(api, "dry.example.com", two_hosts[0])
    marker = sshd_rig.workdir() / "dry-run-marker"
    marker.unlink(missing_ok=True)
    body = {"script": f"touch {marker}", "targets": {"hosts": ["dry.example.com"]}}
    response = await api.post("/api/jobs", json={"name": "dry", "dry_run": True, **body})
    assert response.status_code == 200, response.text
    await asyncio.sleep(1.0)  # a worker that wrongly got it would have run it by now
    assert not marker.exists()
    assert (await api.get("/api/jobs")).json()["total"] == 0
    assert (await api.get("/api/job_invocations")).json()["total"] == 0
    job = await create(api, **body)
    assert (await wait_plain(api, job["id"]))["status"] == "succeeded"
    assert marker.exists()


async def test_a_scheduled_job_is_cancelled_then_deleted_and_its_audit_stays(rexd, two_hosts):
    api = rexd.client
    await add_host(api, "cron.example.com", two_hosts[0])
    job = await create(api, script="true", targets={"hosts": ["cron.example.com"]},
                       schedule="0 0 1 1 *")
    assert job["status"] == "scheduled" and job["recurring_logic_id"]
    assert len(job["invocation_ids"]) == 1
    refused = await api.delete(f"/api/jobs/{job['id']}")
    assert refused.status_code == 409, refused.text
    assert "cancel it" in refused.json()["error"]["message"]
    cancelled = await api.post(f"/api/jobs/{job['id']}/cancel", json={})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    logic = (await api.get(f"/foreman_tasks/api/recurring_logics/{job['recurring_logic_id']}"))
    assert logic.json()["state"] == "cancelled"
    deleted = await api.delete(f"/api/jobs/{job['id']}")
    assert deleted.status_code == 200, deleted.text
    assert (await api.get(f"/api/jobs/{job['id']}")).status_code == 404
    gone = await api.get(f"/api/job_invocations/{job['invocation_ids'][0]}")
    assert gone.status_code == 404
    audits = (await api.get("/api/audits", params={"search": "type = Job"})).json()["results"]
    assert {a["action"] for a in audits} >= {"cancel", "destroy"}


async def test_a_running_job_cannot_be_deleted_until_cancelled(rexd, two_hosts):
    api = rexd.client
    await add_host(api, "busy.example.com", two_hosts[1])
    job = await create(api, script="sleep 30", targets={"hosts": ["busy.example.com"]})

    async def running():
        return (await api.get(f"/api/jobs/{job['id']}")).json()["status"] == "running"

    await wait_until(running)
    assert (await api.delete(f"/api/jobs/{job['id']}")).status_code == 409
    await api.post(f"/api/jobs/{job['id']}/cancel", json={})
    assert (await wait_plain(api, job["id"]))["status"] == "cancelled"
    [row] = await executions(api, job["id"])
    assert row["status"] == "cancelled"
    assert (await api.delete(f"/api/jobs/{job['id']}")).status_code == 200


SECRET = "Sx-4711-geheim"


async def test_variables_and_vault_secrets_reach_the_script_and_never_its_output(rexd, two_hosts,
                                                                                 sshd_rig):
    api = rexd.client
    await add_host(api, "env.example.com", two_hosts[0], remote_execution_effective_user=EFFECTIVE)
    made = await api.post("/api/vault", json={"key": "app/token", "value": SECRET})
    assert made.status_code == 201, made.text
    # print the secret one byte at a time with pauses, on stdout and on stderr
    script = ('id -un; echo "greeting=$GREETING"; '
              'i=0; while [ $i -lt ${#TOKEN} ]; do c=$(expr substr "$TOKEN" $((i+1)) 1); '
              'printf %s "$c"; printf %s "$c" >&2; sleep 0.05; i=$((i+1)); done; echo')
    job = await create(api, runtime="bash", script=script, targets={"hosts": ["env.example.com"]},
                       variables={"GREETING": "hello there"},
                       secrets=[{"env": "TOKEN", "vault_key": "app/token"}])
    assert job["secrets"] == [{"env": "TOKEN", "vault_key": "app/token"}]
    workdir, looked = sshd_rig.workdir(), 0
    while (await api.get(f"/api/jobs/{job['id']}")).json()["status"] in ("pending", "running"):
        for path in workdir.rglob("rex-*/*"):  # the run directory, while the script runs
            with contextlib.suppress(OSError):
                assert SECRET.encode() not in path.read_bytes(), path
                looked += 1
        await asyncio.sleep(0.05)
    assert looked  # the run directory was seen at least once
    assert (await wait_plain(api, job["id"]))["status"] == "succeeded"
    [row] = await executions(api, job["id"])
    assert row["stdout"] == f"{EFFECTIVE}\ngreeting=hello there\n*****\n"
    assert row["stderr"] == "*****"
    invocation = job["invocation_ids"][0]
    seen = [await api.get(f"/api/jobs/{job['id']}"), await api.get(f"/api/jobs/{job['id']}/executions"),
            await api.get(f"/api/job_invocations/{invocation}/hosts/env.example.com"),
            await api.get(f"/api/job_invocations/{invocation}/hosts/env.example.com/raw"),
            await api.get("/api/audits")]
    for response in seen:
        assert response.status_code == 200
        assert SECRET not in response.text and SECRET[:6] not in response.text


async def test_a_deleted_vault_key_fails_the_host_with_a_message(rexd, two_hosts):
    api = rexd.client
    await add_host(api, "gone.example.com", two_hosts[0])
    entry = (await api.post("/api/vault", json={"key": "gone", "value": "x1"})).json()
    job = await create(api, script="true", targets={"hosts": ["gone.example.com"]},
                       secrets=[{"env": "X", "vault_key": "gone"}], schedule="0 0 1 1 *")
    await api.delete(f"/api/vault/{entry['id']}")
    await api.post(f"/api/job_invocations/{job['invocation_ids'][0]}/rerun", json={})
    rows = await wait_until(lambda: _finished_rows(api, job["id"]))
    assert rows[0]["status"] == "failed"
    output = (await api.get(f"/api/job_invocations/{rows[0]['invocation_id']}"
                            "/hosts/gone.example.com")).json()["output"]
    assert any("Vault key gone (for X) no longer exists" in o["output"] for o in output)


async def _finished_rows(api, job_id):
    rows = await executions(api, job_id)
    return [r for r in rows if r["status"] not in ("pending", "running")]


async def test_a_failing_host_is_retried_with_backoff_and_each_attempt_is_kept(rexd, two_hosts,
                                                                              sshd_rig):
    api = rexd.client
    await add_host(api, "flaky.example.com", two_hosts[0])
    counter = sshd_rig.workdir() / "flaky-counter"
    counter.unlink(missing_ok=True)
    script = (f'n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; '
              'echo "try $n"; [ $n -ge 3 ]')
    job = await create(api, script=script, targets={"hosts": ["flaky.example.com"]},
                       retry_count=3, retry_delay=1)
    assert (await wait_plain(api, job["id"]))["status"] == "succeeded"
    rows = await executions(api, job["id"])
    assert [(r["attempt"], r["status"], r["exit_code"], r["stdout"]) for r in rows] == [
        (1, "failed", 1, "try 1\n"), (2, "failed", 1, "try 2\n"), (3, "success", 0, "try 3\n")]
    assert {r["invocation_id"] for r in rows} == set(job["invocation_ids"])
    # backoff 1 s, then 2 s: from the stored times (the API shows whole seconds)
    async with rexd.runtime.db.reader() as session:
        stored = (await session.execute(
            select(HostRun.attempt, HostRun.started_at, HostRun.finished_at)
            .where(HostRun.host_name == "flaky.example.com").order_by(HostRun.attempt))).all()
    gaps = [(b.started_at - a.finished_at).total_seconds() for a, b in itertools.pairwise(stored)]
    assert gaps[0] >= 1.0 and gaps[1] >= 2.0, gaps
    foreman = (await api.get(f"/api/job_invocations/{job['invocation_ids'][0]}")).json()
    assert (foreman["status_label"], foreman["succeeded"], foreman["total"]) == ("succeeded", 1, 1)
    first = (await api.get(f"/api/jobs/{job['id']}/executions", params={"per_page": 1})).json()
    assert first["total"] == 3


async def test_failures_another_try_cannot_fix_are_not_retried(rexd, two_hosts):
    api = rexd.client
    await add_host(api, "noauth.example.com", two_hosts[0], remote_execution_ssh_user="nobody-here")
    job = await create(api, script="true", targets={"hosts": ["noauth.example.com"]},
                       retry_count=2, retry_delay=0)
    assert (await wait_plain(api, job["id"]))["status"] == "failed"
    assert [r["attempt"] for r in await executions(api, job["id"])] == [1]
    await add_host(api, "slow.example.com", two_hosts[1])
    job = await create(api, script="sleep 30", targets={"hosts": ["slow.example.com"]},
                       retry_count=2, retry_delay=0)

    async def running():
        return (await api.get(f"/api/jobs/{job['id']}")).json()["status"] == "running"

    await wait_until(running)
    await api.post(f"/api/jobs/{job['id']}/cancel", json={})
    assert (await wait_plain(api, job["id"]))["status"] == "cancelled"
    assert [(r["attempt"], r["status"]) for r in await executions(api, job["id"])] == [
        (1, "cancelled")]


async def test_each_firing_of_a_scheduled_job_resolves_its_targets_again(rexd, two_hosts):
    api = rexd.client
    clock = FakeClock()
    clock.now = clock.now.replace(second=30)  # mid-minute: one firing per minute moved
    rexd.runtime.clock = clock
    first, second = two_hosts
    await add_host(api, "early.example.com", first, tags="nightly")
    await add_host(api, "tagged-later.example.com", second)
    job = await create(api, script=f'set -- $SSH_CONNECTION; [ "$4" != {second.port} ]',
                       targets={"tag": "nightly"}, schedule="* * * * *")
    # tagged after the job was made: the next firing takes it
    tagged = await api.put("/api/hosts/tagged-later.example.com", json={"host": {
        "host_parameters_attributes": [{"name": "tags", "value": "web, nightly"}]}})
    assert tagged.status_code == 200, tagged.text
    clock.advance(minutes=1, seconds=1)
    one = await wait_job(api, job["invocation_ids"][0])
    assert (one["total"], one["succeeded"], one["failed"]) == (2, 1, 1)
    # rerunning a firing's failed hosts reruns those hosts, not the targets
    rerun = await api.post(f"/api/job_invocations/{one['id']}/rerun", json={"failed_only": True})
    assert rerun.status_code == 201, rerun.text
    again = await wait_job(api, rerun.json()["id"])
    assert (again["total"], again["failed"]) == (1, 1)
    hosts = (await api.get(f"/api/job_invocations/{again['id']}/hosts")).json()["results"]
    assert [h["name"] for h in hosts] == ["tagged-later.example.com"]
    # a host deleted since is left out of the next firing
    assert (await api.delete("/api/hosts/early.example.com")).status_code == 200
    clock.advance(minutes=1, seconds=1)

    async def second_firing():
        ids = (await api.get(f"/api/jobs/{job['id']}")).json()["invocation_ids"]
        return ids[1] if len(ids) > 1 else None

    two = await wait_job(api, await wait_until(second_firing))
    assert (two["total"], two["failed"]) == (1, 1)
