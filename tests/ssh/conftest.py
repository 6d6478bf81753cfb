"""Fixtures of the SSH engine tests: the real-sshd rig, an engine, a sink, a known-hosts store."""

from __future__ import annotations

import pytest

from rex.ssh import ClientIdentity, Engine, HostTarget
from tests.sshd import LOGIN, SshdHost, SshdRig, sshd_host_fixture, sshd_rig_fixture  # noqa: F401


class MemorySink:
    """Collects emitted chunks in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, bytes]] = []

    async def emit(self, stream: str, data: bytes) -> None:
        """Keep one chunk."""
        self.events.append((stream, data))

    def text(self, stream: str) -> bytes:
        """Return everything emitted on `stream`, joined."""
        return b"".join(data for name, data in self.events if name == stream)

    @property
    def debug(self) -> list[str]:
        """Return the debug lines."""
        return [data.decode() for name, data in self.events if name == "debug"]


class MemoryKnownHosts:
    """Known host keys in a dict."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}

    async def get(self, endpoint: str) -> str | None:
        """Return the stored key."""
        return self.keys.get(endpoint)

    async def remember(self, endpoint: str, public_key: str) -> None:
        """Store the first key seen."""
        self.keys.setdefault(endpoint, public_key)


@pytest.fixture
def known_hosts() -> MemoryKnownHosts:
    """An empty known-hosts store."""
    return MemoryKnownHosts()


@pytest.fixture
def engine(sshd_rig: SshdRig, known_hosts: MemoryKnownHosts) -> Engine:
    """An engine logging in with the rig's client key."""
    return Engine(ClientIdentity.load(sshd_rig.client_key), known_hosts, concurrency=20)


@pytest.fixture
def target(sshd_rig: SshdRig, sshd_host: SshdHost):
    """Build a HostTarget for the shared host: `target(script, **overrides)`."""

    def build(script: str, **overrides) -> HostTarget:
        values = {"address": sshd_host.address, "port": sshd_host.port, "ssh_user": LOGIN,
                  "script": script, "effective_user": None,
                  "working_dir": str(sshd_rig.workdir()), "connect_timeout": 5.0}
        values.update(overrides)
        return HostTarget(**values)

    return build
