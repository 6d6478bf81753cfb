"""Running a script on a real sshd host: exit codes, output streams, bytes, working dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ssh.conftest import MemorySink

pytestmark = pytest.mark.sshd


@pytest.mark.parametrize(
    ("script", "status", "exit_status"),
    [("true", "success", 0), ("exit 23", "error", 23), ("no-such-command-rex", "error", 127)],
)
async def test_exit_status_is_the_scripts(engine, target, script, status, exit_status):
    sink = MemorySink()
    result = await engine.run(target(script), sink)
    assert (result.status, result.exit_status, result.error_kind) == (status, exit_status, None)
    assert result.started_at <= result.finished_at
    assert sink.debug == []


async def test_stdout_and_stderr_stay_apart_and_in_order(engine, target):
    sink = MemorySink()
    script = "echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three; sleep 0.1; echo four >&2"
    await engine.run(target(script), sink)
    assert sink.events == [
        ("stdout", b"one\n"), ("stderr", b"two\n"), ("stdout", b"three\n"), ("stderr", b"four\n"),
    ]


async def test_a_megabyte_of_output_arrives_intact(engine, target):
    sink = MemorySink()
    result = await engine.run(target("seq 1 170000; echo done >&2"), sink)
    expected = b"".join(b"%d\n" % n for n in range(1, 170001))
    assert len(expected) > 1_000_000
    assert result.exit_status == 0
    assert sink.text("stdout") == expected
    assert sink.text("stderr") == b"done\n"


async def test_bytes_that_are_not_utf8_survive(engine, target):
    sink = MemorySink()
    await engine.run(target(r"printf '\377\376\200ok\n'; printf '\303(\n' >&2"), sink)
    assert sink.text("stdout") == b"\xff\xfe\x80ok\n"
    assert sink.text("stderr") == b"\xc3(\n"


async def test_a_shebang_picks_the_interpreter(engine, target):
    sink = MemorySink()
    await engine.run(target('#!/bin/bash\necho "bash ${BASH_VERSINFO[0]}"'), sink)
    assert sink.text("stdout").startswith(b"bash ")


async def test_the_script_reads_no_stdin(engine, target):
    sink = MemorySink()
    result = await engine.run(target("cat; echo after"), sink)
    assert (result.exit_status, sink.text("stdout")) == (0, b"after\n")


@pytest.mark.parametrize("cleanup", [True, False])
async def test_cleanup_removes_the_working_directory_or_keeps_it(engine, target, cleanup):
    sink = MemorySink()
    result = await engine.run(target('dirname "$0"; exit 3', cleanup=cleanup), sink)
    directory = Path(sink.text("stdout").decode().strip())
    assert result.exit_status == 3
    assert directory.name.startswith("rex-")
    if cleanup:
        assert not directory.exists()
    else:
        assert sorted(p.name for p in directory.iterdir()) == ["exit_status", "pid", "script"]
        assert (directory / "exit_status").read_text() == "3\n"
        assert directory.stat().st_mode & 0o777 == 0o700


async def test_a_noexec_working_dir_names_the_setting(engine, target, sshd_rig):
    sink = MemorySink()
    with sshd_rig.noexec_dir() as directory:
        result = await engine.run(target("echo never", working_dir=str(directory)), sink)
        leftovers = list(directory.iterdir())
    assert (result.status, result.error_kind, result.exit_status) == ("error", "working_dir", None)
    assert sink.debug == [
        f"Cannot execute in {directory} (noexec?): set remote_execution_remote_working_dir"
    ]
    assert sink.text("stdout") == b""
    assert leftovers == []


async def test_a_missing_working_dir_is_reported(engine, target, sshd_rig):
    sink = MemorySink()
    missing = sshd_rig.root / "no-such-dir"
    result = await engine.run(target("echo never", working_dir=str(missing)), sink)
    assert (result.status, result.error_kind) == ("error", "working_dir")
    assert len(sink.debug) == 1
    assert sink.debug == [(f"Cannot write to {missing}: it is missing or not writable; "
                          "set remote_execution_remote_working_dir")]
