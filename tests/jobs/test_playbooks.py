"""Playbooks over HTTP with real sshd hosts: barriers, per-host results, conditions, gates."""

from __future__ import annotations

import asyncio
import subprocess
import time
from datetime import UTC, datetime

import pytest

from tests.access.conftest import PASSWORD, make_user
from tests.jobs.helpers import add_host

pytestmark = pytest.mark.sshd
PORT = 'set -- $SSH_CONNECTION; port=$4; '


@pytest.fixture(scope="module")
def pair(sshd_rig):
    hosts = [sshd_rig.start_host() for _ in range(2)]
    yield hosts
    for host in hosts:
        sshd_rig.stop_host(host)


async def add_pair(api, pair) -> None:
    for i, host in enumerate(pair):
        await add_host(api, f"pb{i}.example.com", host, tags="pb")


async def create(api, steps, **extra) -> dict:
    made = await api.post("/api/playbooks", json={"name": f"pb {time.monotonic()}", "steps": steps,
                                                  **extra})
    assert made.status_code == 201, made.text
    return made.json()


async def start(api, playbook_id, **body) -> dict:
    body.setdefault("targets", {"tag": "pb"})
    made = await api.post(f"/api/playbooks/{playbook_id}/run", json=body)
    assert made.status_code == 201, made.text
    return made.json()


async def wait_run(api, run_id: int, states=("succeeded", "failed", "cancelled", "rejected"),
                   timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = (await api.get(f"/api/playbook_runs/{run_id}")).json()
        if run["state"] in states:
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} is still {run['state']}")


def by_host(run: dict) -> dict[str, dict]:
    return {h["name"]: h for h in run["hosts"]}


def three_steps(fail_port: int, continue_on_failure: bool) -> list[dict]:
    return [
        {"id": "one", "script": PORT + 'echo "port $port"'},
        {"id": "two", "script": PORT + f'[ "$port" != {fail_port} ]',
         "continue_on_failure": continue_on_failure},
        {"id": "three", "script": 'echo "saw $SEEN"', "inputs": {"SEEN": "{{ steps.one.stdout }}"}},
    ]


@pytest.mark.parametrize("continue_on_failure", [False, True])
async def test_a_failed_step_drops_its_host_unless_it_continues_on_failure(
        rexd, pair, continue_on_failure):
    api = rexd.client
    await add_pair(api, pair)
    playbook = await create(api, three_steps(pair[1].port, continue_on_failure))
    run = await wait_run(api, (await start(api, playbook["id"]))["id"])
    hosts = by_host(run)
    first, second = hosts["pb0.example.com"], hosts["pb1.example.com"]
    # each host saw its own step-one output, inserted as data
    assert first["steps"]["three"]["stdout"] == f"saw port {pair[0].port}"
    assert second["steps"]["two"]["status"] == "failed"
    if continue_on_failure:
        assert run["state"] == "succeeded"
        assert second["steps"]["three"]["stdout"] == f"saw port {pair[1].port}"
    else:
        assert run["state"] == "failed" and second["state"] == "failed"
        assert "three" not in second["steps"]


async def test_a_condition_skips_a_step_and_results_are_never_rendered_again(rexd, pair):
    api = rexd.client
    await add_pair(api, pair)
    playbook = await create(api, [
        {"id": "one", "script": "echo '{{ 7 * 6 }}'"},
        {"id": "skip", "script": "echo never", "condition": "steps.one.exit_status == 99"},
        {"id": "last", "script": 'echo "$A|$B"',
         "inputs": {"A": "{{ steps.one.stdout }}", "B": "[{{ steps.skip.stdout }}]"}}])
    run = await wait_run(api, (await start(api, playbook["id"]))["id"])
    assert run["state"] == "succeeded"
    for host in run["hosts"]:
        assert host["steps"]["skip"] == {"status": "skipped", "exit_status": "", "stdout": "",
                                         "stderr": ""}
        assert host["steps"]["last"]["stdout"] == "{{ 7 * 6 }}|[]"


async def test_an_approval_gate_waits_and_only_someone_else_may_approve(rexd, pair, sshd_rig):
    api = rexd.client
    await add_pair(api, pair)
    marks = sshd_rig.workdir() / "gate-marks"
    marks.mkdir(exist_ok=True)
    marks.chmod(0o777)
    playbook = await create(api, [
        {"id": "one", "script": "true"},
        {"id": "gate", "type": "approval", "approval_timeout_seconds": 600},
        {"id": "three", "script": PORT + f"touch {marks}/$port"}])
    await make_user(api, "starter", ["Remote Execution Manager"])
    async with rexd.client_as("starter", PASSWORD) as starter:
        run = await start(starter, playbook["id"])
        run = await wait_run(starter, run["id"], states=("waiting_approval",))
        assert run["current_step"] == "gate"
        await asyncio.sleep(0.5)
        assert list(marks.iterdir()) == []  # nothing of step three before the approval
        own = await starter.post(f"/api/playbook_runs/{run['id']}/approve", json={})
        assert own.status_code == 403, own.text
    approved = await api.post(f"/api/playbook_runs/{run['id']}/approve", json={"comment": "go"})
    assert approved.status_code == 200, approved.text
    done = await wait_run(api, run["id"])
    assert (done["state"], done["decided_by"], done["comment"]) == ("succeeded", "admin", "go")
    assert sorted(p.name for p in marks.iterdir()) == sorted(str(h.port) for h in pair)
    again = await api.post(f"/api/playbook_runs/{run['id']}/approve", json={})
    assert again.status_code == 422, again.text
    audits = (await api.get("/api/audits", params={"search": "type = PlaybookRun"})).json()
    assert {"run", "approve"} <= {a["action"] for a in audits["results"]}


async def test_a_gate_rejected_or_timed_out_ends_the_run(rexd, pair):
    api = rexd.client
    await add_pair(api, pair)
    gated = [{"id": "one", "script": "true"},
             {"id": "gate", "type": "approval", "approval_timeout_seconds": 1},
             {"id": "never", "script": "echo never"}]
    playbook = await create(api, gated)
    run = await wait_run(api, (await start(api, playbook["id"]))["id"], states=("waiting_approval",))
    rejected = await api.post(f"/api/playbook_runs/{run['id']}/reject", json={"comment": "no"})
    assert rejected.json()["state"] == "rejected"
    started = time.monotonic()
    run = await start(api, playbook["id"])
    timed_out = await wait_run(api, run["id"])
    assert (timed_out["state"], timed_out["comment"]) == ("rejected", "The approval timed out")
    assert time.monotonic() - started >= 1.0
    assert all("never" not in h["steps"] for h in timed_out["hosts"])


async def test_the_built_in_playbooks_run_end_to_end(rexd, pair, sshd_rig, tmp_path):
    api = rexd.client
    await add_pair(api, pair)
    names = {p["name"]: p["id"] for p in (await api.get("/api/playbooks")).json()["results"]}
    baseline = await start(api, names["Baseline check"],
                           parameters={"packages": "openssh-server", "services": "sshd"})
    assert (await wait_run(api, baseline["id"]))["state"] == "succeeded"
    missing = await start(api, names["Baseline check"], parameters={"packages": "no-such-pkg-rex"})
    missing = await wait_run(api, missing["id"])
    assert missing["state"] == "failed"
    assert "missing packages: no-such-pkg-rex" in missing["hosts"][0]["steps"]["packages"]["stdout"]
    patched = sshd_rig.workdir() / "patched"
    patched.mkdir(exist_ok=True)
    patched.chmod(0o777)
    patch = await start(api, names["Patch run"], parameters={
        "patch_command": f'set -- $SSH_CONNECTION; echo ok > {patched}/$4', "window": "00:00-23:59"})
    patch = await wait_run(api, patch["id"], states=("waiting_approval",))
    assert list(patched.iterdir()) == []
    await make_user(api, "approver", ["Remote Execution Manager"])
    async with rexd.client_as("approver", PASSWORD) as approver:
        assert (await approver.post(f"/api/playbook_runs/{patch['id']}/approve", json={})).status_code == 200
    assert (await wait_run(api, patch["id"]))["state"] == "succeeded"
    assert len(list(patched.iterdir())) == 2
    far = (datetime.now(UTC).hour + 12) % 24  # a window twelve hours away
    closed = await start(api, names["Patch run"], parameters={
        "patch_command": "true", "window": f"{far:02d}:00-{far:02d}:01"})
    closed = await wait_run(api, closed["id"], states=("failed", "waiting_approval"))
    assert closed["state"] == "failed"
    assert "outside the maintenance window" in closed["hosts"][0]["steps"]["window"]["stdout"]
    cert = sshd_rig.workdir() / "cert.pem"
    await asyncio.to_thread(subprocess.run, [
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
        "-subj", "/CN=rex-test", "-keyout", str(tmp_path / "key.pem"), "-out", str(cert)],
        check=True, capture_output=True)
    cert.chmod(0o644)
    fine = await start(api, names["TLS certificate expiry"], parameters={"certificate": str(cert)})
    assert (await wait_run(api, fine["id"]))["state"] == "succeeded"
    soon = await start(api, names["TLS certificate expiry"],
                       parameters={"certificate": str(cert), "days": 400})
    soon = await wait_run(api, soon["id"])
    assert soon["state"] == "failed"
    assert "expires within 400 days" in soon["hosts"][0]["steps"]["expiry"]["stdout"]


BAD_PLAYBOOKS = [
    ({"name": "x"}, "steps"),
    ({"name": "x", "steps": []}, "steps"),
    ({"name": "x", "steps": [{"id": "a", "script": "true"}, {"id": "a", "script": "true"}]},
     "steps[1].id"),
    ({"name": "x", "steps": [{"id": "a", "script": "true", "job_template_id": 1}]}, "steps[0]"),
    ({"name": "x", "steps": [{"id": "a", "script": "true", "runtime": "perl"}]}, "steps[0].runtime"),
    ({"name": "x", "steps": [{"id": "a", "job_template_id": 999}]}, "steps[0].job_template_id"),
    ({"name": "x", "steps": [{"id": "9a", "script": "true"}]}, "steps[0].id"),
    ({"name": "x", "steps": [{"id": "g", "type": "approval", "script": "x"}]}, "steps[0]"),
    ({"name": "x", "steps": [{"id": "a", "script": "true"}],
      "parameters": [{"name": "p", "type": "date"}]}, "parameters[0].type"),
    ({"name": "x", "steps": [{"id": "a", "script": "true"}],
      "parameters": [{"name": "p", "type": "number", "default": "ten"}]}, "parameters[0].default"),
]


async def test_bad_playbooks_and_runs_are_a_422_and_nothing_is_written(api):
    before = (await api.get("/api/playbooks")).json()["total"]
    for body, field in BAD_PLAYBOOKS:
        response = await api.post("/api/playbooks", json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["error"]["errors"], (body, response.text)
    assert (await api.get("/api/playbooks")).json()["total"] == before
    await api.post("/api/hosts", json={"host": {"name": "p.example.com", "ip": "127.0.0.1"}})
    made = (await api.post("/api/playbooks", json={
        "name": "needs", "steps": [{"id": "a", "script": "true"}],
        "parameters": [{"name": "n", "type": "number", "required": True}]})).json()
    for body, field in (({"targets": {"all": True}}, "parameters.n"),
                        ({"targets": {"all": True}, "parameters": {"n": "x"}}, "parameters.n"),
                        ({"targets": {"all": True}, "parameters": {"n": 1, "m": 2}}, "parameters"),
                        ({"parameters": {"n": 1}, "targets": {}}, "targets")):
        response = await api.post(f"/api/playbooks/{made['id']}/run", json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["error"]["errors"], (body, response.text)
    assert (await api.get("/api/playbook_runs")).json()["total"] == 0
    builtin = (await api.get("/api/playbooks/Baseline check")).json()
    assert (await api.delete(f"/api/playbooks/{builtin['id']}")).status_code == 422
    assert (await api.get("/api/playbook_runs/999")).status_code == 404
