"""Jobs from the command line against real sshd hosts: run, wait, rerun, follow, cancel."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid

import pytest

from tests.cli.conftest import REX
from tests.jobs.helpers import wait_until

pytestmark = pytest.mark.sshd

# Fails on the hosts whose port has a file in $GATE, so a test decides who fails, and when.
GATED = "set -- $SSH_CONNECTION; echo port $4; test ! -e {gate}/fail-$4"

SCRIPT = r"""
set -u
i=0
for port in $PORTS; do
  rex host create --name node$i.example.com --ip 127.0.0.1 \
      --param remote_execution_ssh_port=$port > /dev/null || exit 10
  i=$((i + 1))
done
rex --output json job-invocation create --feature run_script --search-query 'name ~ node*' \
    --inputs "command='$COMMAND'" > first.json 2> first.err
echo "create=$?"
id=$("$PY" -c 'import json; print(json.load(open("first.json"))["id"])')
rm -f "$GATE"/fail-*
rex job-invocation rerun "$id" --failed-only > rerun.out 2> rerun.err
echo "rerun=$?"
rex job-invocation rerun "$id" --failed-only --async > async.out
echo "async=$?"
"""


@pytest.fixture(scope="module")
def hosts(sshd_rig):
    started = [sshd_rig.start_host() for _ in range(4)]
    yield started
    for host in started:
        sshd_rig.stop_host(host)


@pytest.fixture
def gate(sshd_rig):
    """A folder the hosts' scripts look into (as the login user) to decide what to do."""
    return sshd_rig.workdir(f"cli-gate-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def cli(rexd, cli_for):
    return cli_for(rexd.url)


async def add_hosts(cli, hosts, count: int) -> list[str]:
    names = []
    for i, host in enumerate(hosts[:count]):
        name = f"node{i}.example.com"
        ran = await cli.run("host", "create", "--name", name, "--ip", host.address,
                            "--param", f"remote_execution_ssh_port={host.port}")
        assert ran.code == 0, ran
        names.append(name)
    return names


async def test_a_shell_script_runs_a_job_and_reruns_the_failed_hosts(cli, rexd, hosts, gate,
                                                                     tmp_path):
    for host in (hosts[1], hosts[3]):
        (gate / f"fail-{host.port}").touch()
    env = {**os.environ, **cli.environ(), "PATH": f"{REX.parent}:{os.environ['PATH']}",
           "PORTS": " ".join(str(h.port) for h in hosts), "GATE": str(gate),
           "COMMAND": GATED.format(gate=gate), "PY": sys.executable}
    proc = await asyncio.create_subprocess_exec(
        "bash", "-c", SCRIPT, cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert (proc.returncode, out.decode()) == (0, "create=1\nrerun=0\nasync=0\n"), err.decode()

    first = json.loads((tmp_path / "first.json").read_text())
    assert (first["status_label"], first["succeeded"], first["failed"]) == ("failed", 2, 2)
    statuses = {h["name"]: h["job_status"] for h in first["targeting"]["hosts"]}
    assert statuses == {"node0.example.com": "success", "node1.example.com": "error",
                        "node2.example.com": "success", "node3.example.com": "error"}
    assert "4/4 done, 2 failed" in (tmp_path / "first.err").read_text()

    rerun_id = first["id"] + 1
    assert (tmp_path / "rerun.out").read_text().startswith(
        f"Job {rerun_id} succeeded: 2/2 done, 0 failed\n")
    rerun = (await rexd.client.get(f"/api/job_invocations/{rerun_id}")).json()
    assert sorted(h["name"] for h in rerun["targeting"]["hosts"]) == [
        "node1.example.com", "node3.example.com"]
    assert (tmp_path / "async.out").read_text() == f"{rerun_id + 1}\n"


async def test_create_waits_and_shows_who_failed(cli, hosts, gate):
    names = await add_hosts(cli, hosts, 2)
    (gate / f"fail-{hosts[1].port}").touch()
    ran = await cli.run("job-invocation", "create", "--job-template",
                        "Run Command - Script Default", "--search-query", "name ~ node*",
                        "--inputs", f"command='{GATED.format(gate=gate)}'")
    assert ran.code == 1, ran
    assert ran.out.startswith("Job 1 failed: 2/2 done, 1 failed\n"), ran
    assert names[1] in ran.out and "error" in ran.out and names[0] not in ran.out
    assert f"see why: rex job-invocation output 1 --host {names[1]}" in ran.err

    info = await cli.run("job-invocation", "info", "1")
    assert info.code == 0, info
    assert "1 succeeded, 1 failed, 0 pending, 0 cancelled, 2 total" in info.out
    assert "success" in info.out and "error" in info.out

    output = await cli.run("job-invocation", "output", "1", "--host", names[1])
    assert (output.code, output.out) == (1, f"port {hosts[1].port}\nExit status: 1\n"), output
    every = await cli.run("job-invocation", "output", "1")
    assert every.out == (f"== {names[0]} ==\nport {hosts[0].port}\nExit status: 0\n"
                         f"== {names[1]} ==\nport {hosts[1].port}\nExit status: 1\n"), every

    (gate / f"fail-{hosts[1].port}").unlink()
    again = await cli.run("job-invocation", "rerun", "1")
    assert (again.code, again.out) == (0, "Job 2 succeeded: 2/2 done, 0 failed\n"), again
    listed = json.loads((await cli.run("job-invocation", "list", "--output", "json")).out)
    assert [j["status_label"] for j in listed["results"]] == ["succeeded", "failed"]


FOLLOWED = ("echo one; echo two; while [ ! -e {gate}/go ]; do sleep 0.05; done; "
            "echo three >&2; echo four; exit 5")


async def test_follow_prints_lines_as_they_come_in_order(cli, rexd, hosts, gate):
    [name] = await add_hosts(cli, hosts, 1)
    made = await cli.run("job-invocation", "create", "--feature", "run_script",
                         "--search-query", f"name = {name}", "--async",
                         "--inputs", f"command='{FOLLOWED.format(gate=gate)}'")
    job_id = made.out.strip()
    proc = await asyncio.create_subprocess_exec(
        str(REX), "job-invocation", "output", job_id, "--host", name, "--follow",
        env={**os.environ, **cli.environ()}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    first = [await asyncio.wait_for(proc.stdout.readline(), 20) for _ in range(2)]
    assert first == [b"one\n", b"two\n"]
    assert proc.returncode is None  # still following: the host has not finished
    (gate / "go").touch()
    rest, err = await asyncio.wait_for(proc.communicate(), 20)
    assert (proc.returncode, rest, err) == (1, b"four\nExit status: 5\n", b"three\n")

    lines = await cli.run("job-invocation", "output", job_id, "--host", name, "--follow",
                          "--output", "json")
    items = [json.loads(line) for line in lines.out.splitlines()]
    by_type = {kind: "".join(i["output"] for i in items if i["output_type"] == kind)
               for kind in ("stdout", "stderr")}
    assert by_type == {"stdout": "one\ntwo\nfour\nExit status: 5", "stderr": "three\n"}
    stamps = [i["timestamp"] for i in items]
    assert stamps == sorted(stamps)


async def test_cancel_a_running_job(cli, rexd, hosts, gate):
    [name] = await add_hosts(cli, hosts, 1)
    made = await cli.run("job-invocation", "create", "--feature", "run_script",
                         "--search-query", f"name = {name}", "--async",
                         "--inputs", "command='echo started; sleep 30'")
    job_id = made.out.strip()

    async def started():
        body = (await rexd.client.get(f"/api/job_invocations/{job_id}/hosts/{name}")).json()
        return any(line["output"] == "started\n" for line in body["output"])

    await wait_until(started, timeout=20)
    cancelled = await cli.run("job-invocation", "cancel", job_id)
    assert (cancelled.code, cancelled.out) == (0, f"job {job_id} cancelled\n"), cancelled
    follow = await cli.run("job-invocation", "output", job_id, "--host", name, "--follow")
    assert follow.out.startswith("started\n"), follow
    assert "Job cancelled by admin" in follow.err
    info = json.loads((await cli.run("job-invocation", "info", job_id, "--output", "json")).out)
    assert (info["status_label"], info["cancelled"]) == ("failed", 1)

    again = await cli.run("job-invocation", "cancel", job_id)
    assert again.code == 3, again
    assert again.err.startswith("rex: the server refused: "), again
