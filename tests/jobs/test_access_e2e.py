"""Access and secrets through real sshd: a filtered role's job, and no secret anywhere in clear.

The secret test runs a job with every kind of secret (SSH password, key passphrase,
effective-user password for sudo, a hidden input the script echoes, secret host parameters),
then reads the whole SQLite database file, everything logged, and every API answer: no
secret may appear in clear, nor in base64 or hex.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import httpx
import pytest

from tests.dbkit import sqlite_url
from tests.jobs.conftest import rex_settings, start_rex
from tests.jobs.helpers import add_host, run_command, wait_job
from tests.sshd import EFFECTIVE, KEY_PASSPHRASE, PASSWORDS, SUDOER

pytestmark = pytest.mark.sshd

OPERATOR_PASSWORD = "operator-Pw-2207"
OPERATOR_PERMISSIONS = {
    "Host": ["view_hosts"],
    "JobInvocation": ["view_job_invocations", "create_job_invocations"],
    "JobTemplate": ["view_job_templates"],
    "TemplateInvocation": ["view_template_invocations", "create_template_invocations"],
    "RemoteExecutionFeature": ["view_remote_execution_features"],
}


@pytest.fixture(scope="module")
def three_hosts(sshd_rig):
    hosts = [sshd_rig.start_host() for _ in range(3)]
    yield hosts
    for host in hosts:
        sshd_rig.stop_host(host)


async def _web_operator(api) -> None:
    """A user who may run jobs, but only see (and so target) hosts in `hostgroup = web`."""
    role = (await api.post("/api/roles", json={"role": {"name": "Web operators"}})).json()
    for resource, names in OPERATOR_PERMISSIONS.items():
        search = "hostgroup = web" if resource == "Host" else None
        made = await api.post("/api/filters", json={"filter": {
            "role_id": role["id"], "permission_ids": names, "search": search}})
        assert made.status_code == 201, made.text
    made = await api.post("/api/users", json={"user": {
        "login": "webop", "password": OPERATOR_PASSWORD, "role_ids": [role["id"]]}})
    assert made.status_code == 201, made.text


async def test_a_web_only_user_runs_on_everything_and_reaches_only_web_hosts(
        rexd, three_hosts, sshd_rig):
    api = rexd.client
    names = {"web1.example.com": "web", "web2.example.com": "web", "db1.example.com": "db"}
    for (name, group), host in zip(names.items(), three_hosts, strict=True):
        await add_host(api, name, host)
        await api.put(f"/api/hosts/{name}", json={"host": {"hostgroup_name": group}})
    await _web_operator(api)
    marks = sshd_rig.workdir() / "access-marks"
    marks.mkdir(exist_ok=True)
    marks.chmod(0o777)  # the SSH login user writes here
    async with rexd.client_as("webop", OPERATOR_PASSWORD) as webop:
        job = await run_command(webop, f'set -- $SSH_CONNECTION; touch {marks}/ran-$4', "name ~ *")
        assert sorted(h["name"] for h in job["targeting"]["hosts"]) == [
            "web1.example.com", "web2.example.com"]
        done = await wait_job(webop, job["id"])
        assert (done["status_label"], done["succeeded"], done["total"]) == ("succeeded", 2, 2)
        hidden = await webop.get(f"/api/job_invocations/{job['id']}/hosts/db1.example.com")
        assert hidden.status_code == 404
    ran = sorted(p.name for p in marks.iterdir())
    assert ran == sorted(f"ran-{h.port}" for h in three_hosts[:2])


def _forms(secret: str) -> dict[str, bytes]:
    """The secret in clear, base64 (any alignment, standard and URL-safe) and hex."""
    raw = secret.encode()
    forms = {"clear": raw, "hex": raw.hex().encode(), "HEX": raw.hex().upper().encode()}
    for shift in range(3):
        for name, encode in (("b64", base64.b64encode), ("b64url", base64.urlsafe_b64encode)):
            encoded = encode(b"\0" * shift + raw)
            forms[f"{name}+{shift}"] = encoded[4:-4]  # the part no neighbouring byte changes
    return forms


def _leaks(secrets: dict[str, str], where: str, data: bytes) -> list[str]:
    return [f"{label} ({form}) in {where}" for label, secret in secrets.items()
            for form, needle in _forms(secret).items() if needle in data]


async def test_no_secret_is_stored_logged_or_answered_in_clear(tmp_path, sshd_rig, sshd_host,
                                                                caplog):
    caplog.set_level(logging.DEBUG)
    answers: list[bytes] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        answers.append(str(response.headers).encode() + response.content)

    db_url = sqlite_url(tmp_path)
    settings = rex_settings(tmp_path, db_url, sshd_rig, ssh_identity_file=sshd_rig.encrypted_key)
    server = await start_rex(settings)
    api = server.client
    api.event_hooks["response"].append(keep)
    secrets = {
        "ssh password": "Ssh-Pass-Word-5512",
        "key passphrase": KEY_PASSPHRASE,
        "effective-user password": PASSWORDS[SUDOER],
        "hidden input": "Hidden-Input-Val-8841",
        "host ssh password": "Host-Param-Secret-3391",
        "host effective-user password": "Host-Eff-Secret-6604",
        "user password": OPERATOR_PASSWORD,
        "admin password": settings.admin_password,
        "secret key": (settings.data_dir / "secret.key").read_text().strip(),
    }
    try:
        await add_host(api, "vault.example.com", sshd_host, remote_execution_ssh_user=SUDOER,
                       remote_execution_ssh_password=secrets["host ssh password"],
                       remote_execution_effective_user_password=secrets[
                           "host effective-user password"])
        template = await api.post("/api/job_templates", json={"job_template": {
            "name": "Echo secrets", "job_category": "Tests",
            "template": "echo token={{ input('token') }}; id -un",
            "template_inputs_attributes": [{"name": "token", "hidden_value": True}]}})
        created = await api.post("/api/job_invocations", json={"job_invocation": {
            "job_template_id": template.json()["id"], "search_query": "name = vault.example.com",
            "inputs": {"token": secrets["hidden input"]}, "password": secrets["ssh password"],
            "key_passphrase": secrets["key passphrase"],
            "ssh": {"effective_user": EFFECTIVE,
                    "effective_user_password": secrets["effective-user password"]}}})
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        done = await wait_job(api, job_id)
        raw = (await api.get(f"/api/job_invocations/{job_id}/hosts/vault.example.com/raw")).json()
        assert done["status_label"] == "succeeded", raw
        assert raw["output"] == f"token=*****\n{EFFECTIVE}\nExit status: 0"
        await api.post("/api/users", json={"user": {"login": "webop",
                                                    "password": secrets["user password"]}})
        token = await api.post("/api/users/webop/personal_access_tokens", json={"name": "ci"})
        answers.pop()  # the one answer that shows a token, once, by design
        secrets["token"] = token.json()["token_value"]
        async with server.client_as("webop", secrets["token"]) as webop:
            assert (await webop.get("/api/current_user")).status_code == 200
        await api.post(f"/api/job_invocations/{job_id}/rerun", json={})
        for path in (f"/api/job_invocations/{job_id}", f"/api/job_invocations/{job_id}/hosts",
                     f"/api/job_invocations/{job_id}/outputs",
                     f"/api/job_invocations/{job_id}/template_invocations",
                     f"/api/job_invocations/{job_id}/hosts/vault.example.com",
                     "/api/job_invocations", "/api/hosts/vault.example.com", "/api/hosts",
                     f"/api/job_templates/{template.json()['id']}", "/api/audits?per_page=all",
                     "/api/users", "/api/users/webop", "/api/users/webop/personal_access_tokens",
                     "/foreman_tasks/api/tasks", f"/foreman_tasks/api/tasks/{done['dynflow_task']['id']}",
                     "/api/current_user"):
            assert (await api.get(path)).status_code == 200, path
    finally:
        await server.stop()
    database = Path(db_url.split("///", 1)[1])
    stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    logged = "\n".join(
        f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records).encode() + caplog.text.encode()
    leaks = _leaks(secrets, "the database", stored) + _leaks(secrets, "the logs", logged)
    for n, answer in enumerate(answers):
        leaks += _leaks(secrets, f"answer {n}", answer)
    assert len(answers) > 20 and len(stored) > 10_000
    assert leaks == []
