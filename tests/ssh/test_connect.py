"""Connecting: unreachable ports, passwords, keys, passphrases and host keys."""

from __future__ import annotations

import socket

import pytest

from rex.ssh import ClientIdentity, Engine
from tests.ssh.conftest import MemorySink
from tests.sshd import KEY_PASSPHRASE, LOGIN, PASSWORDS

pytestmark = pytest.mark.sshd


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_an_unreachable_port_is_one_debug_line(engine, target):
    sink = MemorySink()
    port = closed_port()
    result = await engine.run(target("true", port=port), sink)
    assert (result.status, result.error_kind, result.exit_status) == ("error", "unreachable", None)
    assert len(sink.debug) == 1
    assert sink.debug[0].startswith(f"Could not connect to 127.0.0.1:{port}: ")
    assert "refused" in sink.debug[0].lower()


async def test_password_login_works_without_a_key(target, known_hosts):
    sink = MemorySink()
    engine = Engine(None, known_hosts)
    result = await engine.run(target("whoami", password=PASSWORDS[LOGIN]), sink)
    assert (result.status, sink.text("stdout")) == ("success", f"{LOGIN}\n".encode())


async def test_a_wrong_password_fails_authentication(target, known_hosts, sshd_host):
    sink = MemorySink()
    result = await Engine(None, known_hosts).run(target("true", password="wrong"), sink)
    assert (result.status, result.error_kind) == ("error", "auth")
    assert sink.debug == [f"Authentication failed for {LOGIN}@127.0.0.1:{sshd_host.port}"]


async def test_a_key_the_host_does_not_know_fails_authentication(target, known_hosts, sshd_rig):
    sink = MemorySink()
    engine = Engine(ClientIdentity.load(sshd_rig.stranger_key), known_hosts)
    result = await engine.run(target("true"), sink)
    assert (result.status, result.error_kind) == ("error", "auth")
    assert sink.debug[0].startswith(f"Authentication failed for {LOGIN}@")


async def test_an_encrypted_key_opens_with_the_hosts_passphrase(target, known_hosts, sshd_rig):
    engine = Engine(ClientIdentity.load(sshd_rig.encrypted_key), known_hosts)
    sink = MemorySink()
    result = await engine.run(target("echo in", key_passphrase=KEY_PASSPHRASE), sink)
    assert (result.status, sink.text("stdout")) == ("success", b"in\n")


async def test_an_encrypted_key_opens_with_the_identity_passphrase(target, known_hosts, sshd_rig):
    engine = Engine(ClientIdentity.load(sshd_rig.encrypted_key, KEY_PASSPHRASE), known_hosts)
    result = await engine.run(target("true"), MemorySink())
    assert result.status == "success"


@pytest.mark.parametrize("passphrase", [None, "not the passphrase"])
async def test_an_encrypted_key_without_its_passphrase_fails(target, known_hosts, sshd_rig,
                                                             passphrase):
    engine = Engine(ClientIdentity.load(sshd_rig.encrypted_key), known_hosts)
    sink = MemorySink()
    result = await engine.run(target("true", key_passphrase=passphrase), sink)
    assert (result.status, result.error_kind) == ("error", "auth")
    assert len(sink.debug) == 1
    assert sink.debug[0].startswith(f"Authentication failed for {LOGIN}@")
    assert "passphrase" in sink.debug[0]


async def test_accept_new_stores_the_first_host_key(engine, target, known_hosts, sshd_host):
    await engine.run(target("true"), MemorySink())
    assert known_hosts.keys == {sshd_host.endpoint: sshd_host.public_key_line}


async def test_a_changed_host_key_fails_the_host(engine, target, known_hosts, sshd_rig):
    host = sshd_rig.start_host()
    try:
        first = await engine.run(target("true", port=host.port), MemorySink())
        old_key = known_hosts.keys[host.endpoint]
        sshd_rig.restart_host(host)
        sink = MemorySink()
        second = await engine.run(target("echo never", port=host.port), sink)
    finally:
        sshd_rig.stop_host(host)
    assert first.status == "success"
    assert (second.status, second.error_kind) == ("error", "host_key")
    assert sink.debug[0].startswith(f"Host key for 127.0.0.1:{host.port} has changed")
    assert "forget its stored key" in sink.debug[0]
    assert known_hosts.keys[host.endpoint] == old_key
    assert sink.text("stdout") == b""


async def test_a_seeded_different_key_fails_the_host(engine, target, known_hosts, sshd_host,
                                                     sshd_rig):
    other_key = sshd_rig.stranger_key.with_suffix(".pub").read_text().split()[:2]
    known_hosts.keys[sshd_host.endpoint] = " ".join(other_key)
    sink = MemorySink()
    result = await engine.run(target("true"), sink)
    assert (result.status, result.error_kind) == ("error", "host_key")
    assert sink.debug[0].startswith(f"Host key for 127.0.0.1:{sshd_host.port} has changed")


async def test_strict_refuses_an_unknown_host(engine, target, known_hosts, sshd_host):
    sink = MemorySink()
    result = await engine.run(target("true", host_key_policy="strict"), sink)
    assert (result.status, result.error_kind) == ("error", "host_key")
    assert sink.debug[0].startswith(f"Host key for 127.0.0.1:{sshd_host.port} is not known")
    assert known_hosts.keys == {}


async def test_strict_accepts_the_stored_key(engine, target, known_hosts, sshd_host):
    known_hosts.keys[sshd_host.endpoint] = sshd_host.public_key_line
    result = await engine.run(target("true", host_key_policy="strict"), MemorySink())
    assert result.status == "success"


async def test_a_missing_identity_file_is_a_configuration_error(tmp_path):
    from rex.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="Cannot read the SSH identity file"):
        ClientIdentity.load(tmp_path / "nope")
