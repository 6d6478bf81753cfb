"""PyPI's `ansible` in its own virtualenv outside the checkout, made on first use.

The `theforeman.foreman` collection inside it talks to rex through apypie, exactly as it
talks to Foreman. The virtualenv lives under ~/.cache (or `REX_ANSIBLE_VENV`) so it is
made once per machine; its modules also need `requests`, which the collection documents.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from tests.dbkit import IN_CI

__all__ = ["ANSIBLE_VERSION", "ansible_venv"]

ANSIBLE_VERSION = "12.3.0"  # the newest on Python 3.11; its theforeman.foreman is 5.7.0
VENV = Path(os.environ.get("REX_ANSIBLE_VENV")
            or Path.home() / ".cache" / "rex-tests" / f"ansible-{ANSIBLE_VERSION}")
CHECK = "import requests, ansible_collections.theforeman.foreman"


def _ready(venv: Path) -> bool:
    python = venv / "bin" / "python"
    if not (venv / "bin" / "ansible-playbook").exists() or not python.exists():
        return False
    return subprocess.run([python, "-c", CHECK], check=False, capture_output=True).returncode == 0


def _install(venv: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True,
                   capture_output=True)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet",
           "--disable-pip-version-check"]
    subprocess.run([*pip, f"ansible=={ANSIBLE_VERSION}", "requests"], check=True,
                   capture_output=True, timeout=900)


def ansible_venv() -> Path | str:
    """Return the virtualenv with ansible, installing it when missing; a reason if impossible.

    Under CI=true an installation failure is raised, never turned into a reason to skip.
    """
    if _ready(VENV):
        return VENV
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / f".{VENV.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test session may be installing it
        if _ready(VENV):
            return VENV
        try:
            _install(VENV)
        except (OSError, subprocess.SubprocessError) as exc:
            if IN_CI:
                raise
            detail = getattr(exc, "stderr", b"") or b""
            return f"cannot install ansible=={ANSIBLE_VERSION}: {exc} {detail[-300:]!r}"
    return VENV if _ready(VENV) else f"ansible=={ANSIBLE_VERSION} installed but not usable"
