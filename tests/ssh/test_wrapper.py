"""The wrapper run by a local shell: the common path forks as little as it can, odd paths still work."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rex.wrapper import plan_remote


def run_locally(tmp_path: Path, script: bytes, working_dir: Path) -> subprocess.CompletedProcess:
    """Run the wrapper under `bash -x` (the login shell of the test hosts) with its stdin."""
    plan = plan_remote(script, working_dir=str(working_dir), effective_user=None)
    return subprocess.run(["bash", "-x", "-c", plan.command], check=False, input=plan.stdin,
                          capture_output=True, timeout=30, cwd=tmp_path)


def test_the_digest_is_checked_by_one_program_without_a_command_substitution(tmp_path):
    done = run_locally(tmp_path, b"echo checked\n", tmp_path)
    assert (done.returncode, done.stdout) == (0, b"checked\n")
    trace = [line for line in done.stderr.decode().splitlines() if line.startswith("+")]
    hashing = [line for line in trace if "sha512sum" in line or "shasum" in line or "openssl" in line]
    assert hashing == ["+ sha512sum -c --status"], trace
    assert not any(line.startswith("++") for line in trace), trace  # no subshell was forked
    assert list(tmp_path.iterdir()) == []  # cleaned up


@pytest.mark.parametrize("odd", ["back\\slash", "new\nline", "two  spaces"])
def test_working_dirs_with_odd_names_still_check_and_run(tmp_path, odd):
    folder = tmp_path / odd
    folder.mkdir()
    done = run_locally(tmp_path, b"echo odd\n", folder)
    assert (done.returncode, done.stdout) == (0, b"odd\n"), done.stderr.decode()
    assert list(folder.iterdir()) == []
