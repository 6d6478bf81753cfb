"""The engine against an in-process asyncssh server: the fast tier, no root, no sshd."""

from __future__ import annotations

import asyncio

import pytest

from rex.ssh import CancelToken, ClientIdentity, Engine, HostTarget
from tests.ssh.conftest import MemoryKnownHosts, MemorySink
from tests.ssh.helpers import wait_for_output, wait_gone
from tests.ssh.inprocess import InProcessServer


@pytest.fixture
async def server(tmp_path):
    """A fresh in-process server."""
    async with InProcessServer.start(tmp_path) as running:
        yield running


def host(server: InProcessServer, script: str, tmp_path, **overrides) -> HostTarget:
    """Return a target on the in-process server, working in `tmp_path`."""
    values = {"address": server.address, "port": server.port, "ssh_user": server.user,
              "script": script, "effective_user": None, "working_dir": str(tmp_path)}
    return HostTarget(**{**values, **overrides})


async def test_output_and_exit_status_come_back(server, tmp_path):
    engine = Engine(ClientIdentity.load(server.client_key), MemoryKnownHosts())
    sink = MemorySink()
    result = await engine.run(host(server, "echo out; echo err >&2; exit 5", tmp_path), sink)
    assert (result.status, result.exit_status) == ("error", 5)
    assert (sink.text("stdout"), sink.text("stderr")) == (b"out\n", b"err\n")
    assert [p.name for p in tmp_path.iterdir()] == ["inprocess_client_ed25519"]


async def test_a_cancel_stops_the_script_tree(server, tmp_path):
    engine = Engine(ClientIdentity.load(server.client_key), MemoryKnownHosts())
    sink, token = MemorySink(), CancelToken()
    pid_file = tmp_path / "child"
    script = f"sleep 300 & echo $! > {pid_file}; echo started; wait"
    task = asyncio.create_task(engine.run(host(server, script, tmp_path), sink, token))
    await wait_for_output(sink, b"started")
    token.cancel("erin")
    result = await asyncio.wait_for(task, 10)
    assert (result.status, sink.debug) == ("cancelled", ["Job cancelled by erin"])
    assert await wait_gone(int(pid_file.read_text()))


async def test_a_host_key_change_is_caught(tmp_path):
    known = MemoryKnownHosts()
    async with InProcessServer.start(tmp_path) as first:
        engine = Engine(ClientIdentity.load(first.client_key), known)
        assert (await engine.run(host(first, "true", tmp_path), MemorySink())).status == "success"
        port = first.port
    async with InProcessServer.start(tmp_path, port) as second:
        sink = MemorySink()
        result = await engine.run(host(second, "true", tmp_path), sink)
    assert known.keys == {first.endpoint: first.public_key_line}
    assert (result.status, result.error_kind) == ("error", "host_key")
    assert sink.debug[0].startswith(f"Host key for 127.0.0.1:{port} has changed")
