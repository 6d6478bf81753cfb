"""An in-process asyncssh server for the fast tier: exec requests run as `/bin/sh -c` locally.

No root, no sshd: every command runs as the test process's own user, so effective-user
switches are out of scope here (the real-sshd rig in tests/sshd.py covers them).

    async with InProcessServer.start(tmp_path) as server:
        engine = Engine(ClientIdentity.load(server.client_key), known_hosts)
        await engine.run(HostTarget(server.address, server.port, "any", script, None), sink)
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh


async def _run_locally(process: asyncssh.SSHServerProcess) -> None:
    """Run one exec request with /bin/sh, wiring its three streams to the channel."""
    local = await asyncio.create_subprocess_exec(
        "/bin/sh", "-c", process.command or "", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )

    async def feed() -> None:
        with contextlib.suppress(asyncssh.Error, OSError):
            while data := await process.stdin.read(65536):
                local.stdin.write(data)
                await local.stdin.drain()
        local.stdin.close()

    async def copy(reader: asyncio.StreamReader, writer: asyncssh.SSHWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)

    feeder = asyncio.create_task(feed())
    await asyncio.gather(copy(local.stdout, process.stdout), copy(local.stderr, process.stderr))
    status = await local.wait()
    feeder.cancel()
    await asyncio.gather(feeder, return_exceptions=True)
    process.exit(status if status >= 0 else 128 - status)


@dataclass
class InProcessServer:
    """A listening asyncssh server and the files a client needs to log in."""

    address: str
    port: int
    client_key: Path
    host_key: asyncssh.SSHKey
    user: str
    _server: asyncssh.SSHAcceptor

    @property
    def endpoint(self) -> str:
        """Return the known-hosts key `[address]:port`."""
        return f"[{self.address}]:{self.port}"

    @property
    def public_key_line(self) -> str:
        """Return the host key as an OpenSSH public key line."""
        return self.host_key.export_public_key("openssh").decode().strip()

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, folder: Path, port: int = 0) -> AsyncIterator[InProcessServer]:
        """Listen on 127.0.0.1 (a free port unless given) with a fresh host key."""
        client_key = folder / "inprocess_client_ed25519"
        if not client_key.exists():
            asyncssh.generate_private_key("ssh-ed25519").write_private_key(client_key)
        authorized = asyncssh.import_authorized_keys(
            asyncssh.read_private_key(client_key).export_public_key("openssh").decode()
        )
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        acceptor = await asyncssh.listen(
            "127.0.0.1", port, server_host_keys=[host_key], authorized_client_keys=authorized,
            process_factory=_run_locally, encoding=None, agent_forwarding=False,
        )
        bound = acceptor.sockets[0].getsockname()[1]
        server = cls("127.0.0.1", bound, client_key, host_key, getpass.getuser(), acceptor)
        try:
            yield server
        finally:
            acceptor.close()
            await acceptor.wait_closed()
