"""Script integrity: bodies changed behind rex's back and files changed on the host are refused."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select, update

from rex.models import HostRun, JobInvocation, JobTemplate, Playbook
from tests.access.conftest import PASSWORD, make_user
from tests.jobs.helpers import add_host, run_command, wait_job

pytestmark = pytest.mark.sshd
SHIMS = Path("/usr/local/bin")
_MARK = "# rex integrity test shim"


def sha512(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


@pytest.fixture
def zone(sshd_rig):
    """A working directory whose runs the shims below act on; everywhere else they pass through."""
    path = sshd_rig.workdir("integrity-zone")
    path.chmod(0o1777)
    made: list[Path] = []

    def shim(program: str, real: str, action: str) -> None:
        target = SHIMS / program
        assert not target.exists(), f"{target} exists: this test shadows it for a moment"
        # `sha512sum -c` names the file on stdin, not on its command line
        target.write_text(f'#!/bin/sh\n{_MARK}\n'
                          f'case " $* " in *" -c "*) c=$(cat); case "$c" in *{path}*) {action} ;; esac\n'
                          f'  printf "%s\\n" "$c" | exec {real} "$@" ;; esac\n'
                          f'case "$*" in *{path}*) {action} ;; esac\n'
                          f'exec {real} "$@"\n')
        target.chmod(0o755)
        made.append(target)

    yield path, shim
    for target in made:
        if _MARK in target.read_text():
            target.unlink()


async def host_output(api, job_id: int, host: str) -> list[str]:
    body = (await api.get(f"/api/job_invocations/{job_id}/hosts/{host}")).json()
    return [o["output"] for o in body["output"]]


async def test_a_template_changed_in_the_database_is_refused(rexd, sshd_host):
    api = rexd.client
    await add_host(api, "i1.example.com", sshd_host)
    made = await api.post("/api/job_templates", json={"job_template": {
        "name": "Checked", "template": "echo original", "job_category": "Tests"}})
    assert made.status_code == 201, made.text
    async with rexd.runtime.db.unit_of_work() as session:
        stored = await session.scalar(select(JobTemplate).where(JobTemplate.name == "Checked"))
        assert stored.template_sha512 == sha512("echo original")
        await session.execute(update(JobTemplate).where(JobTemplate.id == stored.id)
                              .values(template="echo evil"))  # old digest kept
    job = (await api.post("/api/job_invocations", json={"job_invocation": {
        "job_template_id": made.json()["id"], "search_query": "name = i1.example.com"}})).json()
    done = await wait_job(api, job["id"])
    assert (done["failed"], done["succeeded"]) == (1, 0)
    output = await host_output(api, job["id"], "i1.example.com")
    assert any("Template Checked was changed outside rex" in line for line in output)
    assert not any("evil" in line for line in output)
    # an edit through the API stores the new digest, and the audit shows it
    await api.put(f"/api/job_templates/{made.json()['id']}",
                  json={"job_template": {"template": "echo fixed"}})
    audits = (await api.get("/api/audits", params={"search": "type = JobTemplate"})).text
    assert sha512("echo fixed") in audits


async def test_a_plain_jobs_script_changed_in_the_database_is_refused(rexd, sshd_host):
    api = rexd.client
    await add_host(api, "i2.example.com", sshd_host)
    job = (await api.post("/api/jobs", json={"name": "later", "script": "echo mine",
                                             "schedule": "0 0 1 1 *",
                                             "targets": {"hosts": ["i2.example.com"]}})).json()
    invocation = job["invocation_ids"][0]
    async with rexd.runtime.db.unit_of_work() as session:
        await session.execute(update(JobInvocation).where(JobInvocation.id == invocation)
                              .values(script="echo theirs"))
    rerun = (await api.post(f"/api/job_invocations/{invocation}/rerun", json={})).json()
    done = await wait_job(api, rerun["id"])
    assert done["failed"] == 1
    output = await host_output(api, rerun["id"], "i2.example.com")
    assert any("The job's script was changed outside rex" in line for line in output)


async def test_each_run_records_its_scripts_digest_for_those_who_edit_scripts(rexd, sshd_host):
    api = rexd.client
    await add_host(api, "i3.example.com", sshd_host)
    job = (await api.post("/api/jobs", json={"name": "d", "script": "echo digest",
                                             "targets": {"hosts": ["i3.example.com"]}})).json()
    done = await wait_job(api, job["invocation_ids"][0])
    assert done["succeeded"] == 1
    [row] = (await api.get(f"/api/jobs/{job['id']}/executions")).json()["results"]
    assert row["script_sha512"] == sha512("echo digest")
    await make_user(api, "runner", ["Remote Execution User"])
    async with rexd.client_as("runner", PASSWORD) as runner:
        [row] = (await runner.get(f"/api/jobs/{job['id']}/executions")).json()["results"]
        assert "script_sha512" not in row
    create = (await api.get("/api/audits", params={"search": "type = JobInvocation"})).text
    assert sha512("echo digest") in create


def tamper_on_upload(zone) -> None:
    """The test hook: a tar that appends a line to every script it unpacks in the zone."""
    path, shim = zone
    shim("tar", "/usr/bin/tar", '/usr/bin/tar "$@" || exit $?; for f in '
         f'{path}/rex-*/script; do echo "echo tampered" >> "$f"; done; exit 0')


async def test_a_file_changed_on_the_host_before_it_runs_is_refused(rexd, sshd_host, zone,
                                                                     sshd_rig):
    api = rexd.client
    path, _shim = zone
    tamper_on_upload(zone)
    await add_host(api, "i4.example.com", sshd_host, remote_execution_remote_working_dir=str(path))
    job = await run_command(api, "echo honest", "name = i4.example.com")
    done = await wait_job(api, job["id"])
    assert done["failed"] == 1
    output = "".join(await host_output(api, job["id"], "i4.example.com"))
    assert "does not match the SHA-512 rex sent; refusing to run it" in output
    assert "honest" not in output and "tampered" not in output
    assert list(path.glob("rex-*")) == []  # cleaned up
    async with rexd.runtime.db.reader() as session:
        kinds = (await session.scalars(select(HostRun.error_kind))).all()
    assert kinds == ["integrity"]


async def test_the_hash_tools_are_tried_in_turn_and_none_is_a_clear_failure(rexd, sshd_host,
                                                                            zone):
    api = rexd.client
    path, shim = zone
    shim("sha512sum", "/usr/bin/sha512sum", "exit 127")
    shim("shasum", "/usr/bin/shasum", "exit 127")
    await add_host(api, "i5.example.com", sshd_host, remote_execution_remote_working_dir=str(path))
    job = await run_command(api, "echo via openssl", "name = i5.example.com")
    assert (await wait_job(api, job["id"]))["succeeded"] == 1
    shim("openssl", "/usr/bin/openssl", "exit 127")
    job = await run_command(api, "echo never", "name = i5.example.com")
    assert (await wait_job(api, job["id"]))["failed"] == 1
    output = "".join(await host_output(api, job["id"], "i5.example.com"))
    assert "none of sha512sum, shasum -a 512 or openssl dgst -sha512 works there" in output


async def test_a_host_with_only_shasum_checks_with_it(rexd, sshd_host, zone):
    api = rexd.client
    path, shim = zone
    shim("sha512sum", "/usr/bin/sha512sum", "exit 127")
    shim("openssl", "/usr/bin/openssl", "exit 127")
    await add_host(api, "i6.example.com", sshd_host, remote_execution_remote_working_dir=str(path))
    job = await run_command(api, "echo via shasum", "name = i6.example.com")
    assert (await wait_job(api, job["id"]))["succeeded"] == 1
    assert "via shasum" in "".join(await host_output(api, job["id"], "i6.example.com"))
    # and shasum's answer is checked, not only its exit status
    tamper_on_upload(zone)
    job = await run_command(api, "echo altered", "name = i6.example.com")
    assert (await wait_job(api, job["id"]))["failed"] == 1
    output = "".join(await host_output(api, job["id"], "i6.example.com"))
    assert "does not match the SHA-512 rex sent" in output and "altered" not in output


async def test_integrity_failures_are_never_retried(rexd, sshd_host, zone):
    api = rexd.client
    path, _shim = zone
    tamper_on_upload(zone)
    await add_host(api, "i7.example.com", sshd_host, remote_execution_remote_working_dir=str(path))
    made = await api.post("/api/jobs", json={"name": "no retry", "script": "echo once",
                                             "targets": {"hosts": ["i7.example.com"]},
                                             "retry_count": 3, "retry_delay": 0})
    assert made.status_code == 201, made.text
    job = made.json()
    assert (await wait_job(api, job["invocation_ids"][0]))["failed"] == 1
    await asyncio.sleep(1.5)  # a retry with delay 0 would have been made by now
    rows = (await api.get(f"/api/jobs/{job['id']}/executions")).json()["results"]
    assert [(r["attempt"], r["status"]) for r in rows] == [(1, "failed")]
    async with rexd.runtime.db.reader() as session:
        kinds = (await session.scalars(select(HostRun.error_kind)
                                       .where(HostRun.host_name == "i7.example.com"))).all()
    assert kinds == ["integrity"]


async def test_a_playbook_step_changed_in_the_database_is_refused(rexd, sshd_host):
    api = rexd.client
    await add_host(api, "i8.example.com", sshd_host)
    made = await api.post("/api/playbooks", json={"name": "checked steps", "steps": [
        {"id": "only", "script": "echo original step"}]})
    assert made.status_code == 201, made.text
    playbook = made.json()
    async with rexd.runtime.db.unit_of_work() as session:
        stored = await session.get(Playbook, playbook["id"])
        steps = json.loads(stored.steps)
        assert steps[0]["script_sha512"] == sha512("echo original step")
        steps[0]["script"] = "echo evil step"  # old digest kept
        stored.steps = json.dumps(steps)
    jobs_before = (await api.get("/api/job_invocations")).json()["total"]
    started = await api.post(f"/api/playbooks/{playbook['id']}/run",
                             json={"targets": {"hosts": ["i8.example.com"]}})
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    for _ in range(300):
        run = (await api.get(f"/api/playbook_runs/{run_id}")).json()
        if run["state"] not in ("pending", "running"):
            break
        await asyncio.sleep(0.1)
    assert run["state"] == "failed", run
    [host] = run["hosts"]
    error = host["steps"]["only"]["error"]
    assert "step only's script was changed outside rex" in error, host
    assert (await api.get("/api/job_invocations")).json()["total"] == jobs_before  # nothing ran
