"""Stopping a running script: cancel and timeout kill the whole remote tree."""

from __future__ import annotations

import asyncio
import os
import pwd
import time
from pathlib import Path

import pytest

from rex.ssh import CancelToken
from tests.ssh.conftest import MemorySink
from tests.ssh.helpers import process_owner, wait_for_output, wait_gone
from tests.sshd import EFFECTIVE, PASSWORDS, SUDOER

pytestmark = pytest.mark.sshd


def long_script(pid_file: Path) -> str:
    """A script whose child sleeps long; the child's pid goes to `pid_file`."""
    return f"sleep 300 & echo $! > {pid_file}; echo started; wait"


async def start(engine, target, sink: MemorySink, pid_file: Path, **overrides):
    """Start a long script; return (task, token, child pid) once it runs."""
    token = CancelToken()
    task = asyncio.create_task(engine.run(target(long_script(pid_file), **overrides), sink, token))
    await wait_for_output(sink, b"started")
    return task, token, int(pid_file.read_text())


@pytest.mark.parametrize("switch", [
    {},
    {"effective_user": EFFECTIVE},
    {"effective_user": EFFECTIVE, "ssh_user": SUDOER, "effective_user_password": PASSWORDS[SUDOER]},
    {"effective_user": EFFECTIVE, "effective_user_method": "su",
     "effective_user_password": PASSWORDS[EFFECTIVE]},
], ids=["login-user", "sudo", "sudo-password", "su"])
async def test_cancel_kills_the_remote_tree(engine, target, sshd_rig, tmp_path, switch):
    pid_file = sshd_rig.workdir() / f"child-{tmp_path.name}"
    sink = MemorySink()
    task, token, child = await start(engine, target, sink, pid_file, **switch)
    if "effective_user" in switch:
        assert process_owner(child) == pwd.getpwnam(EFFECTIVE).pw_uid
    token.cancel("alice")
    result = await asyncio.wait_for(task, 10)
    assert (result.status, result.error_kind, result.exit_status) == ("cancelled", "cancel", None)
    assert sink.debug == ["Job cancelled by alice"]
    assert await wait_gone(child), "the script's child survived the cancel"


async def test_timeout_counts_from_connect_and_kills_the_tree(engine, target, sshd_rig, tmp_path):
    pid_file = sshd_rig.workdir() / f"child-{tmp_path.name}"
    sink = MemorySink()
    began = time.monotonic()
    result = await engine.run(target(long_script(pid_file), timeout=1.0), sink)
    assert 1.0 <= time.monotonic() - began < 6
    assert (result.status, result.error_kind, result.exit_status) == ("error", "timeout", None)
    assert sink.debug == ["Timeout for execution passed, trying to stop the job"]
    assert await wait_gone(int(pid_file.read_text()))


async def test_a_forced_cancel_returns_at_once(engine, target, sshd_rig, tmp_path):
    pid_file = sshd_rig.workdir() / f"child-{tmp_path.name}"
    sink = MemorySink()
    task, token, child = await start(engine, target, sink, pid_file)
    began = time.monotonic()
    token.cancel("bob", force=True)
    result = await asyncio.wait_for(task, 5)
    assert time.monotonic() - began < 0.5
    assert (result.status, result.error_kind) == ("cancelled", "cancel")
    assert sink.debug == ["Job cancelled by bob"]
    await engine.aclose()
    assert await wait_gone(child), "the background kill did not stop the tree"


async def test_a_cancel_before_start_never_connects(engine, target, sshd_rig):
    token = CancelToken()
    token.cancel("carol")
    marker = sshd_rig.workdir() / f"never-{os.getpid()}"
    sink = MemorySink()
    result = await engine.run(target(f"touch {marker}"), sink, token)
    assert (result.status, result.error_kind) == ("cancelled", "cancel")
    assert sink.debug == ["Job cancelled by carol"]
    assert not marker.exists()


async def test_a_finished_script_ignores_a_late_cancel(engine, target):
    token = CancelToken()
    sink = MemorySink()
    result = await engine.run(target("echo fast"), sink, token)
    token.cancel("dave")
    assert (result.status, sink.debug) == ("success", [])
