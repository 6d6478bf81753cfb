"""Running as an effective user: sudo with and without a password, su, and the dzdo shim."""

from __future__ import annotations

import time

import pytest

from tests.ssh.conftest import MemorySink
from tests.sshd import EFFECTIVE, LOGIN, PASSWORDS, SUDOER

pytestmark = pytest.mark.sshd


def secrets_absent(sink: MemorySink, *secrets: str) -> bool:
    """Tell whether no emitted chunk carries any of `secrets`."""
    return not any(s.encode() in data for _, data in sink.events for s in secrets)


@pytest.mark.parametrize(("method", "user"), [("sudo", EFFECTIVE), ("sudo", "root"),
                                              ("dzdo", EFFECTIVE)])
async def test_a_passwordless_switch_runs_as_the_effective_user(engine, target, method, user):
    sink = MemorySink()
    result = await engine.run(target("id -un; echo err >&2", effective_user=user,
                                     effective_user_method=method), sink)
    assert (result.status, result.exit_status) == ("success", 0)
    assert sink.events == [("stdout", f"{user}\n".encode()), ("stderr", b"err\n")]


@pytest.mark.parametrize(("method", "ssh_user", "password"), [
    ("sudo", SUDOER, PASSWORDS[SUDOER]),
    ("dzdo", SUDOER, PASSWORDS[SUDOER]),
    ("su", LOGIN, PASSWORDS[EFFECTIVE]),
])
async def test_the_password_answers_the_prompt_and_stays_out_of_output(
    engine, target, method, ssh_user, password
):
    sink = MemorySink()
    result = await engine.run(target("id -un; echo err >&2; exit 4", ssh_user=ssh_user,
                                     effective_user=EFFECTIVE, effective_user_method=method,
                                     effective_user_password=password), sink)
    assert (result.status, result.exit_status, result.error_kind) == ("error", 4, None)
    assert sink.text("stdout") == f"{EFFECTIVE}\n".encode()
    assert sink.text("stderr") == b"err\n"
    assert secrets_absent(sink, password, "assword")


@pytest.mark.parametrize(("method", "ssh_user"), [("sudo", SUDOER), ("dzdo", SUDOER),
                                                  ("su", LOGIN)])
async def test_a_prompt_without_a_password_fails_at_once(engine, target, method, ssh_user):
    sink = MemorySink()
    began = time.monotonic()
    result = await engine.run(target("echo never", ssh_user=ssh_user, effective_user=EFFECTIVE,
                                     effective_user_method=method, timeout=30), sink)
    assert time.monotonic() - began < 5
    assert (result.status, result.error_kind, result.exit_status) == ("error", "effective_user",
                                                                      None)
    assert sink.debug == [f"Effective user password required for {method} to {EFFECTIVE}"]
    assert sink.text("stdout") == b""


@pytest.mark.parametrize(("method", "ssh_user"), [("sudo", SUDOER), ("su", LOGIN)])
async def test_a_wrong_password_fails_the_switch(engine, target, method, ssh_user):
    sink = MemorySink()
    began = time.monotonic()
    result = await engine.run(target("echo never", ssh_user=ssh_user, effective_user=EFFECTIVE,
                                     effective_user_method=method, timeout=30,
                                     effective_user_password="wrong-pw"), sink)
    assert time.monotonic() - began < 10
    assert (result.status, result.error_kind) == ("error", "effective_user")
    assert len(sink.debug) == 1
    assert sink.debug[0].startswith(f"Failed to change to effective user {EFFECTIVE} with {method}")
    assert sink.text("stdout") == b""
    assert secrets_absent(sink, "wrong-pw")


async def test_an_unknown_method_fails_before_connecting(engine, target):
    sink = MemorySink()
    result = await engine.run(target("true", effective_user=EFFECTIVE,
                                     effective_user_method="pbrun"), sink)
    assert (result.status, result.error_kind) == ("error", "effective_user")
    assert sink.debug[0].startswith(f"Failed to change to effective user {EFFECTIVE}")
