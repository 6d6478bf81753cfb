"""Fixtures of the CLI tests: a live rex on SQLite, and a way to run `rex` against it.

`cli.run(...)` runs the command in-process through click's CliRunner (in a thread, so the
server in this event loop keeps answering); `cli.sh(...)` runs the installed `.venv/bin/rex`
entry point as a subprocess. Both return a `Ran` with the exit code, stdout and stderr.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from rex.cli import main
from tests.apikit import ADMIN_PASSWORD, start_server, test_settings
from tests.dbkit import sqlite_url
from tests.jobs.conftest import rexd  # noqa: F401
from tests.sshd import sshd_host_fixture, sshd_rig_fixture  # noqa: F401

REX = Path(sys.executable).with_name("rex")


@dataclass
class Ran:
    """What one `rex` run left behind."""

    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}--- stderr\n{self.err}"


@dataclass
class Cli:
    """Runs `rex` against one server with a clean environment."""

    url: str
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    def environ(self, extra: dict | None = None) -> dict[str, str | None]:
        """Return the variables a run sees (None unsets): the admin login, no profile."""
        env = {"REX_SERVER": self.url, "REX_USER": "admin", "REX_PASSWORD": ADMIN_PASSWORD,
               "REX_CLI_CONFIG": str(self.home / "cli.toml"), "COLUMNS": "200", **self.env}
        env.update(extra or {})
        return env

    async def run(self, *args: str, env: dict | None = None, input: str | None = None) -> Ran:
        """Run `rex ARGS` in-process with click's CliRunner."""
        runner = CliRunner()
        result = await asyncio.to_thread(
            runner.invoke, main, list(args), env=self.environ(env), input=input,
            catch_exceptions=False,
        )
        return Ran(result.exit_code, result.stdout, result.stderr)

    async def sh(self, *args: str, env: dict | None = None) -> Ran:
        """Run the installed `rex` entry point as a subprocess."""
        environ = {k: v for k, v in {**os.environ, **self.environ(env)}.items() if v is not None}
        proc = await asyncio.create_subprocess_exec(
            str(REX), *args, env=environ, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        return Ran(proc.returncode, out.decode(), err.decode())


@pytest.fixture
async def rexlite(tmp_path):
    """A live rex on SQLite without a worker (for commands that run no job)."""
    server = await start_server(test_settings(tmp_path, sqlite_url(tmp_path)))
    yield server
    await server.stop()


@pytest.fixture(scope="module")
async def shared_rex(tmp_path_factory):
    """One live rex on SQLite for a whole module of tests that change nothing it holds."""
    folder = tmp_path_factory.mktemp("shared-rex")
    server = await start_server(test_settings(folder, sqlite_url(folder)))
    yield server
    await server.stop()


@pytest.fixture
def cli_for(tmp_path):
    """Return a factory of `Cli` runners for a server URL."""
    home = tmp_path / "cli-home"
    home.mkdir()
    return lambda url: Cli(url=url, home=home)


@pytest.fixture
def cli(rexlite, cli_for) -> Cli:
    """Run `rex` against a live rex without a worker."""
    return cli_for(rexlite.url)
