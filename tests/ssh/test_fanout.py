"""Many hosts at once: one failing host never stops the others; the limit is explicit."""

from __future__ import annotations

import asyncio
import socket

import pytest

from rex.ssh import ClientIdentity, Engine
from tests.ssh.conftest import MemorySink

pytestmark = pytest.mark.sshd


async def test_failing_hosts_do_not_stop_their_siblings(engine, target, sshd_rig):
    hosts = [sshd_rig.start_host() for _ in range(3)]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    try:
        targets = [target("echo ok", port=h.port) for h in hosts]
        targets.insert(1, target("true", port=closed))
        targets.insert(3, target("true", port=hosts[0].port, ssh_user="nobody-here"))
        targets.append(target("exit 9", port=hosts[1].port))
        sinks = [MemorySink() for _ in targets]
        results = await engine.run_many(zip(targets, sinks, [None] * len(targets), strict=True))
    finally:
        for host in hosts:
            sshd_rig.stop_host(host)
    assert [(r.status, r.error_kind, r.exit_status) for r in results] == [
        ("success", None, 0),
        ("error", "unreachable", None),
        ("success", None, 0),
        ("error", "auth", None),
        ("success", None, 0),
        ("error", None, 9),
    ]
    assert [s.text("stdout") for s in sinks] == [b"ok\n", b"", b"ok\n", b"", b"ok\n", b""]


async def test_concurrency_is_a_hard_limit(target, known_hosts, sshd_rig, sshd_host):
    engine = Engine(ClientIdentity.load(sshd_rig.client_key), known_hosts, concurrency=2)
    running, peak = 0, 0

    class CountingSink(MemorySink):
        async def emit(self, stream, data):
            nonlocal running, peak
            await super().emit(stream, data)
            running += {b"in\n": 1, b"out\n": -1}.get(data, 0)
            peak = max(peak, running)

    items = [(target("echo in; sleep 0.2; echo out"), CountingSink(), None) for _ in range(6)]
    began = asyncio.get_running_loop().time()
    results = await engine.run_many(items)
    assert {r.status for r in results} == {"success"}
    assert peak == 2
    assert asyncio.get_running_loop().time() - began >= 0.6
