"""A live rex server on 127.0.0.1 (uvicorn in the test's event loop) and an httpx client for it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from api import create_app
from rex.config import Settings
from rex.runtime import Runtime

ADMIN_PASSWORD = "admin-test-pw"


@dataclass
class LiveServer:
    """A running rex: its URL, an admin client and the runtime behind it."""

    url: str
    client: httpx.AsyncClient
    app: object
    server: uvicorn.Server
    task: asyncio.Task

    @property
    def runtime(self) -> Runtime:
        return self.app.state.runtime

    def client_as(self, login: str, password: str) -> httpx.AsyncClient:
        """Return a new client for another user (close it after use)."""
        return httpx.AsyncClient(base_url=self.url, auth=(login, password), timeout=30)

    async def stop(self) -> None:
        await self.client.aclose()
        self.server.should_exit = True
        await self.task


def test_settings(tmp_path: Path, db_url: str, **overrides) -> Settings:
    """Settings for a test server: its own data dir, a known admin password."""
    values = {
        "data_dir": tmp_path / "data",
        "database_url": db_url,
        "admin_password": ADMIN_PASSWORD,
        "secret_key": None,
        "lease_seconds": 2.0,
        "poll_interval": 0.05,
        "connect_timeout": 5.0,
        "password_hash_memory_kib": 1024,
    }
    values.update(overrides)
    if not db_url.startswith("sqlite") and not values.get("secret_key"):
        values["secret_key"] = "Q2CWvxcbgB4kJx0xeYnA1QqGm1ZQ7wG0jv8B0Nl1m4k="
    return Settings(**values)


async def start_server(
    settings: Settings, *, background: Callable | None = None,
    customize: Callable[[FastAPI], None] | None = None,
) -> LiveServer:
    """Start rex with `settings` on a free port and wait until it answers.

    `customize` may change the app before it starts (add a route, say).
    """
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP;
    # without it every small answer waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings, background=background)
    if customize is not None:
        customize(app)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    client = httpx.AsyncClient(base_url=url, auth=("admin", ADMIN_PASSWORD), timeout=30)
    return LiveServer(url=url, client=client, app=app, server=server, task=task)
