"""The whole loop over HTTP against real sshd hosts: run, watch, rerun, cancel, hide secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.jobs.helpers import (
    add_host,
    file_has_words,
    process_ended,
    run_command,
    wait_job,
    wait_until,
)
from tests.sshd import EFFECTIVE, PASSWORDS, SUDOER

pytestmark = pytest.mark.sshd

JOB_KEYS = {
    "id": int, "description": str, "job_category": str, "targeting_id": int, "status": int,
    "start_at": str, "status_label": str, "ssh_user": (str, type(None)),
    "time_to_pickup": (int, type(None)), "concurrency_level": (int, type(None)),
    "execution_timeout_interval": (int, type(None)), "dynflow_task": dict, "template_id": int,
    "template_name": str, "effective_user": str, "succeeded": int, "failed": int, "pending": int,
    "cancelled": int, "total": (int, str), "missing": int, "total_hosts": (int, str),
}
SHOW_KEYS = {"mode": str, "targeting": dict, "task": dict, "template_invocations": list,
             "pattern_template_invocations": (list, type(None)), "job_organization": type(None),
             "job_location": type(None)}


def split_by_port(fail_ports: list[int]) -> str:
    """A command that exits 23 on the hosts listening on `fail_ports`, 0 elsewhere."""
    ports = " ".join(str(p) for p in fail_ports)
    return (
        'set -- $SSH_CONNECTION; echo "hello from port $4"; echo "to stderr" >&2; '
        f'case " {ports} " in *" $4 "*) exit 23;; esac; exit 0'
    )


@pytest.fixture(scope="module")
def four_hosts(sshd_rig):
    hosts = [sshd_rig.start_host() for _ in range(4)]
    yield hosts
    for host in hosts:
        sshd_rig.stop_host(host)


async def test_run_watch_and_rerun_failed_only(rexd, four_hosts):
    api = rexd.client
    names = [f"node{i}.example.com" for i in range(4)]
    for name, host in zip(names, four_hosts):
        await add_host(api, name, host)
    failing = [four_hosts[1].port, four_hosts[3].port]
    created = await run_command(api, split_by_port(failing), "name ~ node*")
    for key, kind in {**JOB_KEYS, **SHOW_KEYS}.items():
        assert isinstance(created[key], kind), (key, created[key])
    assert created["targeting"]["search_query"] == "name ~ node*"
    assert len(created["targeting"]["hosts"]) == 4

    job = await wait_job(api, created["id"])
    assert (job["status"], job["status_label"]) == (1, "failed")
    assert (job["succeeded"], job["failed"], job["pending"], job["total"]) == (2, 2, 0, 4)
    shown = (await api.get(f"/api/job_invocations/{job['id']}", params={"host_status": "true"})).json()
    statuses = {h["name"]: h["job_status"] for h in shown["targeting"]["hosts"]}
    assert statuses == {names[0]: "success", names[1]: "error", names[2]: "success",
                        names[3]: "error"}

    output = (await api.get(f"/api/job_invocations/{job['id']}/hosts/{names[1]}")).json()
    assert (output["complete"], output["refresh"]) == (True, False)
    kinds = [(line["output_type"], line["output"]) for line in output["output"]]
    assert ("stdout", f"hello from port {four_hosts[1].port}\n") in kinds
    assert ("stderr", "to stderr\n") in kinds
    assert kinds[-1] == ("stdout", "Exit status: 23")
    stamps = [line["timestamp"] for line in output["output"]]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    later = (await api.get(f"/api/job_invocations/{job['id']}/hosts/{names[1]}",
                           params={"since": stamps[0]})).json()
    assert later["output"] == output["output"][1:]

    raw = (await api.get(f"/api/job_invocations/{job['id']}/hosts/{names[1]}/raw")).json()
    assert raw["output"].endswith("Exit status: 23")
    outputs = (await api.get(f"/api/job_invocations/{job['id']}/outputs")).json()["outputs"]
    assert len(outputs) == 4 and all(o["complete"] for o in outputs)

    rerun = await api.post(f"/api/job_invocations/{job['id']}/rerun", json={"failed_only": True})
    assert rerun.status_code == 201, rerun.text
    again = rerun.json()
    assert again["targeting"]["search_query"] == f"name ^ ({names[1]}, {names[3]})"
    assert "hosts" not in again["targeting"]
    done = await wait_job(api, again["id"])
    assert (done["failed"], done["succeeded"], done["total"]) == (2, 0, 2)
    ran = (await api.get(f"/api/job_invocations/{again['id']}/hosts")).json()["results"]
    assert sorted(h["name"] for h in ran) == [names[1], names[3]]

    task = (await api.get(f"/foreman_tasks/api/tasks/{done['dynflow_task']['id']}")).json()
    assert (task["state"], task["result"], task["progress"]) == ("stopped", "warning", 1.0)
    listed = (await api.get("/api/job_invocations", params={"search": "status = failed"})).json()
    assert [j["id"] for j in listed["results"]] == [again["id"], job["id"]]


async def test_cancel_kills_the_remote_process(rexd, sshd_host, sshd_rig):
    api = rexd.client
    await add_host(api, "long.example.com", sshd_host)
    pid_file = sshd_rig.workdir() / f"sleeper-{os.getpid()}.pid"
    pid_file.unlink(missing_ok=True)
    command = f"sleep 300 & echo $! > {pid_file}; echo started; wait"
    job = await run_command(api, command, "name = long.example.com")
    await wait_until(lambda: file_has_words(pid_file, 1))
    pid = int(pid_file.read_text())
    response = await api.post(f"/api/job_invocations/{job['id']}/cancel", json={})
    assert response.json() == {"cancelled": True, "id": job["id"]}
    done = await wait_job(api, job["id"], timeout=30)
    assert (done["status_label"], done["cancelled"]) == ("failed", 1)
    await wait_until(lambda: process_ended(pid), timeout=10)
    output = (await api.get(f"/api/job_invocations/{job['id']}/hosts/long.example.com")).json()
    assert any(line["output"].startswith("Job cancelled by admin") for line in output["output"])
    again = await api.post(f"/api/job_invocations/{job['id']}/cancel", json={})
    assert again.status_code == 422
    assert again.json()["message"] == "The job could not be cancelled."


async def test_hidden_input_never_shown(rexd, sshd_host):
    api = rexd.client
    await add_host(api, "secret.example.com", sshd_host)
    secret = "s3cr3t-Value-91"
    template = await api.post("/api/job_templates", json={"job_template": {
        "name": "Echo secret", "template": "echo token={{ input('token') }}",
        "job_category": "Tests", "provider_type": "SSH",
        "template_inputs_attributes": [{"name": "token", "input_type": "user",
                                        "required": True, "hidden_value": True}]}})
    assert template.status_code == 201, template.text
    created = await api.post("/api/job_invocations", json={"job_invocation": {
        "job_template_id": template.json()["id"], "search_query": "name = secret.example.com",
        "inputs": {"token": secret}}})
    assert created.status_code == 201
    job = await wait_job(api, created.json()["id"])
    assert job["status_label"] == "succeeded"
    bodies = [created.text]
    for path in ("", "/hosts", "/outputs", "/template_invocations",
                 "/hosts/secret.example.com", "/hosts/secret.example.com/raw"):
        bodies.append((await api.get(f"/api/job_invocations/{job['id']}{path}")).text)
    bodies.append((await api.get("/api/job_invocations")).text)
    assert all(secret not in body for body in bodies)
    assert "token=*****" in bodies[-2]


async def test_sudo_effective_user_with_password(rexd, sshd_host):
    api = rexd.client
    await add_host(api, "sudo.example.com", sshd_host, remote_execution_ssh_user=SUDOER)
    job = await run_command(api, "id -un", "name = sudo.example.com",
                            ssh={"effective_user": EFFECTIVE,
                                 "effective_user_password": PASSWORDS[SUDOER]})
    assert job["effective_user"] == EFFECTIVE
    done = await wait_job(api, job["id"])
    raw = (await api.get(f"/api/job_invocations/{job['id']}/hosts/sudo.example.com/raw")).json()
    assert done["status_label"] == "succeeded", raw
    assert raw["output"] == f"{EFFECTIVE}\nExit status: 0"
    assert PASSWORDS[SUDOER] not in raw["output"]


async def test_unreachable_host_fails_with_debug_line(rexd):
    api = rexd.client
    await api.post("/api/hosts", json={"host": {"name": "down.example.com", "ip": "127.0.0.1",
        "host_parameters_attributes": [{"name": "remote_execution_ssh_port", "value": "1"}]}})
    job = await run_command(api, "true", "name = down.example.com")
    done = await wait_job(api, job["id"])
    assert (done["status_label"], done["failed"]) == ("failed", 1)
    output = (await api.get(f"/api/job_invocations/{job['id']}/hosts/down.example.com")).json()
    first = output["output"][0]
    assert first["output_type"] == "debug"
    assert first["output"].startswith("Could not connect to 127.0.0.1:1: ")


@pytest.mark.postgres
async def test_job_runs_on_postgres_too(rexd_pg, sshd_host):
    api = rexd_pg.client
    await add_host(api, "pg.example.com", sshd_host)
    job = await run_command(api, "echo pg", "name = pg.example.com")
    done = await wait_job(api, job["id"])
    assert done["status_label"] == "succeeded"


async def test_changed_host_key_fails_until_forgotten(rexd, sshd_rig):
    api = rexd.client
    host = sshd_rig.start_host()
    try:
        await add_host(api, "rebuilt.example.com", host)
        first = await wait_job(api, (await run_command(api, "true", "name = rebuilt.example.com"))["id"])
        assert first["status_label"] == "succeeded"
        sshd_rig.restart_host(host)  # same port, new host key: a rebuilt machine
        job = await run_command(api, "true", "name = rebuilt.example.com")
        failed = await wait_job(api, job["id"])
        assert failed["status_label"] == "failed"
        output = (await api.get(f"/api/job_invocations/{job['id']}/hosts/rebuilt.example.com")).json()
        assert output["output"][0]["output"].startswith(
            f"Host key for {host.address}:{host.port} has changed")
        forgot = await api.delete("/api/hosts/rebuilt.example.com/ssh_host_key")
        assert (forgot.json()["endpoint"], forgot.json()["forgotten"]) == (
            f"[{host.address}]:{host.port}", True)
        again = await wait_job(api, (await run_command(api, "true", "name = rebuilt.example.com"))["id"])
        assert again["status_label"] == "succeeded"
    finally:
        sshd_rig.stop_host(host)


async def test_public_key_is_served_as_one_text_line(rexd, sshd_rig):
    response = await rexd.client.get("/api/ssh_keys/public")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == Path(f"{sshd_rig.client_key}.pub").read_text().strip() + "\n"
