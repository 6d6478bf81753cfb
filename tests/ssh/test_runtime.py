"""A job's runtime: the interpreter is looked up as the effective user; missing means 127."""

from __future__ import annotations

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
