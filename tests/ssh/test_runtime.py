"""A job's runtime: the interpreter is looked up as the effective user; missing means 127."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from tests.ssh.conftest import MemorySink
from tests.sshd import EFFECTIVE

pytestmark = pytest.mark.sshd

PWSH = Path("/usr/local/bin/pwsh")
# pwsh cannot be installed here: a shim that checks rex's arguments and runs the file with sh.
_PWSH_SHIM = """#!/bin/sh
# rex test shim (tests/ssh/test_runtime.py)
[ "$1" = -NoProfile ] && [ "$2" = -File ] || { echo "bad arguments: $*" >&2; exit 64; }
echo "pwsh shim"
exec /bin/sh "$3"
"""


@pytest.fixture
def pwsh_shim():
    """Put a pwsh shim on the hosts' PATH for one test (never over a real pwsh)."""
    if PWSH.exists() and "rex test shim" not in PWSH.read_text(errors="replace"):
        pytest.fail(f"{PWSH} is a real pwsh; the runtime tests need it absent")
    PWSH.write_text(_PWSH_SHIM)
    PWSH.chmod(0o755)
    yield
    PWSH.unlink(missing_ok=True)


@pytest.mark.parametrize(("runtime", "script", "expected"), [
    ("bash", 'echo "bash ${BASH_VERSINFO[0]}"', b"bash "),
    ("sh", "echo sh; [ -z \"$BASH_VERSION\" ] && echo not-bash", b"sh\nnot-bash\n"),
    ("python", "import sys; print('python', sys.version_info[0])", b"python 3\n"),
])
async def test_each_runtime_runs_the_script_with_its_interpreter(engine, target, runtime, script,
                                                                 expected):
    sink = MemorySink()
    result = await engine.run(target(script, runtime=runtime), sink)
    assert (result.status, result.exit_status) == ("success", 0), sink.events
    assert sink.text("stdout").startswith(expected)


async def test_a_shebang_does_not_override_the_runtime(engine, target):
    sink = MemorySink()
    result = await engine.run(target("#!/bin/sh\nprint('python wins')", runtime="python"), sink)
    assert result.exit_status == 0, sink.events
    assert sink.text("stdout") == b"python wins\n"


@pytest.mark.parametrize("effective_user", [None, EFFECTIVE])
async def test_a_missing_runtime_ends_the_host_with_127(engine, target, sshd_host, effective_user,
                                                         sshd_rig):
    assert not PWSH.exists(), f"{PWSH} exists: this test needs pwsh missing"
    before = set(Path(sshd_rig.workdir()).glob("rex-*"))
    sink = MemorySink()
    result = await engine.run(target("Write-Host hi", runtime="pwsh",
                                     effective_user=effective_user), sink)
    assert (result.status, result.exit_status, result.error_kind) == ("error", 127, "runtime")
    assert sink.debug == [f"Runtime pwsh not found on {sshd_host.address}:{sshd_host.port}"]
    assert set(Path(sshd_rig.workdir()).glob("rex-*")) == before  # cleaned up


@pytest.mark.parametrize("effective_user", [None, EFFECTIVE])
async def test_pwsh_is_run_with_no_profile_and_the_file(engine, target, pwsh_shim, effective_user):
    sink = MemorySink()
    result = await engine.run(target("echo from-script", runtime="pwsh",
                                     effective_user=effective_user), sink)
    assert result.exit_status == 0, sink.events
    assert sink.text("stdout") == b"pwsh shim\nfrom-script\n"


ODD = "it's \"quoted\" \\ back$lash `tick` é\nsecond line\n"


@pytest.mark.parametrize("effective_user", [None, EFFECTIVE])
async def test_the_environment_is_exported_in_the_effective_users_shell(engine, target,
                                                                        effective_user):
    sink = MemorySink()
    script = 'id -un; printf "%s|" "$PLAIN" "$ODD"; echo "$EMPTY_NOT_SET-end"'
    result = await engine.run(target(script, effective_user=effective_user,
                                     environment=(("PLAIN", "one two"), ("ODD", ODD))), sink)
    assert result.exit_status == 0, sink.events
    user = sink.text("stdout").split(b"\n", 1)[0].decode()
    assert user == (effective_user or user)
    assert sink.text("stdout").split(b"\n", 1)[1] == f"one two|{ODD}|-end\n".encode()


def _command_lines() -> bytes:
    lines = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                lines.append((proc / "cmdline").read_bytes())
            except OSError:
                pass
    return b"\n".join(lines)


@pytest.mark.parametrize("effective_user", [None, EFFECTIVE])
async def test_a_secret_is_on_no_command_line_and_no_disk_while_the_script_runs(
        engine, target, sshd_rig, effective_user):
    secret = "Zq-very-secret-4711"
    sink = MemorySink()
    started = asyncio.Event()

    class Watch(MemorySink):
        async def emit(self, stream, data):
            await sink.emit(stream, data)
            if b"running" in data:
                started.set()

    digest = hashlib.sha256(secret.encode()).hexdigest()  # the script must not hold the secret
    run = asyncio.ensure_future(engine.run(target(
        f'echo running; sleep 1.5; [ "$(printf %s "$TOKEN" | sha256sum)" = "{digest}  -" ] '
        '&& echo match',
        effective_user=effective_user, environment=(("TOKEN", secret),)), Watch()))
    await asyncio.wait_for(started.wait(), 10)
    assert secret.encode() not in _command_lines()
    for path in Path(sshd_rig.workdir()).rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    result = await run
    assert result.exit_status == 0 and sink.text("stdout") == b"running\nmatch\n"
