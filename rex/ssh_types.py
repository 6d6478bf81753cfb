"""What one SSH execution takes and gives back: target, result, sink, known hosts, cancel.

Plain values and protocols, re-exported by `rex.ssh` (import them from there).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from rex.wrapper import METHODS

__all__ = ["CancelToken", "HostResult", "HostTarget", "KnownHosts", "OutputSink"]


@dataclass(frozen=True)
class HostTarget:
    """One host and the resolved settings to run one script there."""

    address: str
    port: int
    ssh_user: str
    script: str
    effective_user: str | None
    effective_user_method: str = "sudo"
    effective_user_password: str | None = None
    password: str | None = None
    key_passphrase: str | None = None
    working_dir: str = "/var/tmp"
    cleanup: bool = True
    host_key_policy: str = "accept-new"
    timeout: float | None = None
    connect_timeout: float = 15.0
    keepalive_interval: float = 15.0
    runtime: str | None = None  # one of rex.wrapper.RUNTIMES; None: shebang or /bin/sh
    # (name, value) pairs exported for the script; they travel on stdin, never on a command line
    environment: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def endpoint(self) -> str:
        """Return the known-hosts key of this host, `[address]:port`."""
        return f"[{self.address}]:{self.port}"

    @property
    def where(self) -> str:
        """Return `address:port` as debug lines name the host."""
        return f"{self.address}:{self.port}"

    def problem(self) -> tuple[str, str] | None:
        """Return (error kind, debug line) if this target cannot run at all, else None."""
        if self.effective_user is not None and self.effective_user_method not in METHODS:
            return ("effective_user", (
                f"Failed to change to effective user {self.effective_user}: method "
                f"'{self.effective_user_method}' is not one of sudo, su, dzdo"))
        if not self.working_dir.startswith("/"):
            return ("working_dir", (
                f"Cannot execute in {self.working_dir}: it is not an absolute path; "
                "set remote_execution_remote_working_dir"))
        return None


@dataclass
class HostResult:
    """How one host ended: success, error or cancelled."""

    status: str
    exit_status: int | None
    error_kind: str | None
    started_at: datetime
    finished_at: datetime


class OutputSink(Protocol):
    """Receives a host's output chunks, in order; the caller numbers and stores them."""

    async def emit(self, stream: str, data: bytes) -> None:
        """Take one chunk of `stdout`, `stderr` or `debug` output."""


class KnownHosts(Protocol):
    """Stored host keys by `[address]:port`, as OpenSSH public key lines."""

    async def get(self, endpoint: str) -> str | None:
        """Return the stored key of `endpoint`, if any."""

    async def remember(self, endpoint: str, public_key: str) -> None:
        """Store the first key seen for `endpoint`."""


class CancelToken:
    """Set by the caller when a user cancels a running host; `force` stops waiting at once."""

    def __init__(self) -> None:
        self._set = asyncio.Event()
        self._forced = asyncio.Event()
        self.by: str | None = None
        self.force = False

    def cancel(self, by: str, force: bool = False) -> None:
        """Ask the engine to stop this host (again with `force=True` to stop waiting)."""
        self.by = self.by or by
        self._set.set()
        if force:
            self.force = True
            self._forced.set()

    @property
    def is_set(self) -> bool:
        """Tell whether a cancel was asked for."""
        return self._set.is_set()

    async def wait(self) -> None:
        """Return once a cancel is asked for."""
        await self._set.wait()

    async def wait_forced(self) -> None:
        """Return once a forced cancel is asked for."""
        await self._forced.wait()
