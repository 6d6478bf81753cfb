"""The `theforeman.foreman` Ansible collection (PyPI's `ansible`) runs a playbook against rex.

Hosts with parameters, a job template with an input, jobs through "Run Command - Script
Default" and the new template, `wait_for_task` on each (failing for a job whose host failed),
`host_info` by a search; run twice, the second run changes no host, template or input.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.apikit import ADMIN_PASSWORD
from tests.dbkit import require
from tests.jobs.ansible_env import ansible_venv

pytestmark = pytest.mark.sshd

WEB = ("web1.example.test", "web2.example.test")
DB = "db1.example.test"
# Ansible renders `{{ }}` itself; `raw` hands rex the Jinja2 text unchanged.
TEMPLATE = "{% raw %}echo \"{{ input('greeting') }} from $(hostname -s)\"{% endraw %}\n"


def task(title: str, module: str, register: str | None = None, /, **args) -> dict:
    """One playbook task calling a theforeman.foreman module with rex's credentials."""
    entry = {"name": title, f"theforeman.foreman.{module}": {
        "server_url": "{{ rex_url }}", "username": "admin", "password": ADMIN_PASSWORD,
        "validate_certs": False, **args}}
    if register:
        entry["register"] = register
    return entry


def check(that: list[str], when: str | None = None) -> dict:
    """An `assert` task."""
    entry: dict = {"ansible.builtin.assert": {"that": that}}
    if when:
        entry["when"] = when
    return entry


def host_tasks(ports: dict[str, int]) -> list[dict]:
    """Create (or find unchanged) one host per sshd, with parameters."""
    return [
        task(f"host {name}", "host", f"host_{i}", name=name, ip="127.0.0.1", managed=False,
             build=False, comment="made by ansible", parameters=[
                 {"name": "remote_execution_ssh_port", "value": str(port)},
                 {"name": "tier", "value": name.split(".")[0][:-1]},
             ])
        for i, (name, port) in enumerate(ports.items())
    ]


def template_tasks() -> list[dict]:
    """A job template whose input is created after it (the module's order)."""
    return [task("template", "job_template", "template", name="Ansible greeting",
                 template=TEMPLATE, job_category="Ansible tests", provider_type="SSH",
                 template_inputs=[{"name": "greeting", "input_type": "user", "required": True,
                                   "description": "Who says hello"}])]


def job_tasks() -> list[dict]:
    """Run both templates, wait for them, find hosts, and see a failing job fail its wait."""
    wait = "{{{{ {}.entity.job_invocations[0].task.id }}}}"
    return [
        task("run command", "job_invocation", "job1", job_template="Run Command - Script Default",
             search_query=f"name ^ ({', '.join(WEB)})", command="echo hello from ansible"),
        task("wait for it", "wait_for_task", "done1", task=wait.format("job1"), timeout=60),
        task("run the new template", "job_invocation", "job2", job_template="Ansible greeting",
             search_query=f"name = {DB}", inputs={"greeting": "hi"}),
        task("wait for that", "wait_for_task", "done2", task=wait.format("job2"), timeout=60),
        check(["done1.task.result == 'success'", "done2.task.result == 'success'",
               "job1.entity.job_invocations[0].targeting.hosts | length == 2"]),
        task("find web hosts", "host_info", "found", search="name ~ web*"),
        check(["found.hosts | map(attribute='name') | sort == " + json.dumps(sorted(WEB))]),
        task("run a failing command", "job_invocation", "job3",
             job_template="Run Command - Script Default", search_query=f"name = {WEB[0]}",
             command="exit 3"),
        {**task("wait for the failure", "wait_for_task", "done3", task=wait.format("job3"),
                timeout=60), "ignore_errors": True},
        check(["done3 is failed", "'did not succeed' in done3.msg"]),
    ]


def playbook(ports: dict[str, int]) -> list[dict]:
    """The whole playbook; on the second run it asserts nothing it manages changed."""
    unchanged = [f"not host_{i}.changed" for i in range(len(ports))] + ["not template.changed"]
    return [{
        "name": "rex through theforeman.foreman",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [*host_tasks(ports), *template_tasks(),
                  check(unchanged, when="second_run | bool"), *job_tasks()],
    }]


def run_playbook(venv: Path, workdir: Path, book: Path, url: str, second: bool):
    """Run ansible-playbook against rex at `url`; return the finished process."""
    env = {
        **os.environ,
        "ANSIBLE_HOME": str(workdir / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(workdir / "ansible-tmp"),
        "XDG_CACHE_HOME": str(workdir / "cache"),  # apypie keeps the Apipie document here
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_PYTHON_INTERPRETER": str(venv / "bin" / "python"),
        "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '')}",
    }
    extra = json.dumps({"rex_url": url, "second_run": second})
    command = [str(venv / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local",
               "-e", f"ansible_python_interpreter={venv / 'bin' / 'python'}", "-e", extra,
               str(book)]
    return subprocess.run(command, check=False, env=env, cwd=workdir, capture_output=True,
                          text=True, timeout=300)


def recap(output: str) -> dict[str, int]:
    """Read `ok=N changed=N ... failed=N` of localhost from the play recap."""
    line = next(line for line in output.splitlines() if line.startswith("localhost"))
    return {k: int(v) for k, v in (pair.split("=") for pair in line.split(":", 1)[1].split())}


@pytest.fixture(scope="module")
def three_hosts(sshd_rig):
    """Three sshd hosts: two web, one db."""
    hosts = [sshd_rig.start_host() for _ in range(3)]
    yield hosts
    for host in hosts:
        sshd_rig.stop_host(host)


async def test_playbook_runs_jobs_and_a_second_run_changes_nothing(rexd, three_hosts, tmp_path):
    venv = await asyncio.to_thread(ansible_venv)
    require(isinstance(venv, Path), str(venv))
    ports = dict(zip((*WEB, DB), (h.port for h in three_hosts), strict=True))
    book = tmp_path / "playbook.yml"
    book.write_text(json.dumps(playbook(ports), indent=1))  # JSON is YAML
    first = await asyncio.to_thread(run_playbook, venv, tmp_path, book, rexd.url, False)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert recap(first.stdout)["ignored"] == 1
    second = await asyncio.to_thread(run_playbook, venv, tmp_path, book, rexd.url, True)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
    assert recap(second.stdout)["changed"] == 3  # the three jobs, new each run by design
    for run in (first, second):  # apypie drops what the document does not declare, and warns
        assert "not supported by your server" not in run.stderr + run.stdout, run.stderr
    hosts = (await rexd.client.get("/api/hosts", params={"search": "name ~ example.test"})).json()
    assert hosts["total"] == 3
    jobs = (await rexd.client.get("/api/job_invocations")).json()
    assert jobs["total"] == 6 and {j["status_label"] for j in jobs["results"]} == {
        "succeeded", "failed"}
