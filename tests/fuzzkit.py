"""Fuzzing rex with schemathesis: a live rex in a thread, a token to call it with, the checks.

Shared by the suite's bounded run (tests/fuzz) and the long one (bench/fuzz.py). The server
runs in its own thread and event loop because schemathesis calls it synchronously. Calls
use a personal access token (Bearer): a fuzzed request that renames admin or changes its
password then cannot lock the run out.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api import create_app
from rex.config import Settings
from tests.apikit import ADMIN_PASSWORD

# No 500, and every answer as the document says: status, content type, headers, body.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@dataclass
class ThreadServer:
    """A rex serving on 127.0.0.1 from a thread of its own."""

    url: str
    token: str
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def headers(self) -> dict[str, str]:
        """Return the headers that authenticate a call."""
        return {"Authorization": f"Bearer {self.token}"}

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=30)


SEEDS = [  # objects with small ids, so generated ids reach real rows, not only 404s
    ("/api/hosts", {"host": {"name": "web1.example.com", "hostgroup_name": "web",
                             "host_parameters_attributes": [{"name": "env", "value": "prod"}]}}),
    ("/api/hosts", {"host": {"name": "db1.example.com", "hostgroup_name": "db"}}),
    ("/api/hosts/facts", {"name": "web1.example.com", "facts": {"os": {"family": "Debian"}}}),
    ("/api/job_templates", {"job_template": {
        "name": "Fuzz", "template": "echo {{ input('x') }}",
        "template_inputs_attributes": [{"name": "x"}, {"name": "token", "hidden_value": True}]}}),
    ("/api/job_invocations", {"job_invocation": {
        "feature": "run_script", "search_query": "name ~ *", "inputs": {"command": "true"}}}),
    ("/api/job_invocations", {"job_invocation": {
        "feature": "run_script", "search_query": "hostgroup = web", "inputs": {"command": "true"},
        "recurrence": {"cron_line": "0 3 * * *"}}}),
    ("/api/bookmarks", {"bookmark": {"name": "web", "query": "hostgroup = web",
                                     "controller": "hosts", "public": True}}),
    ("/api/roles", {"role": {"name": "Fuzzers"}}),
    ("/api/filters", {"filter": {"role_id": 4, "permission_ids": ["view_hosts"],
                                 "search": "hostgroup = web"}}),
    ("/api/users", {"user": {"login": "fuzzy", "password": "fuzzy-pw-1", "role_ids": [4]}}),
    ("/api/users/fuzzy/personal_access_tokens", {"name": "spare"}),
]


def seed(url: str, headers: dict[str, str]) -> None:
    """Create SEEDS; each must succeed."""
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for path, body in SEEDS:
            client.post(path, json=body).raise_for_status()


def start_thread_server(settings: Settings) -> ThreadServer:
    """Start rex in a thread, wait until it answers, make admin a token, add SEEDS."""
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP;
    # without it every small answer waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="critical",
                                           lifespan="on"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])),
                              name="rex-fuzz-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("rex did not start")
        time.sleep(0.02)
    made = httpx.post(f"{url}/api/users/admin/personal_access_tokens", json={"name": "fuzz"},
                      auth=("admin", ADMIN_PASSWORD), timeout=30)
    made.raise_for_status()
    started = ThreadServer(url=url, token=made.json()["token_value"], server=server,
                           thread=thread)
    seed(url, started.headers)
    return started


def cli_command(server: ThreadServer, *, examples: int, phases: str, checks: str = "core",
                seed: int = 1, report: Path | None = None) -> list[str]:
    """Return the schemathesis CLI command that fuzzes `server` (checks: core or all)."""
    names = "all" if checks == "all" else ",".join(check.__name__ for check in CHECKS)
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json",
               "-H", f"Authorization: Bearer {server.token}", "--checks", names,
               "--phases", phases, "--max-examples", str(examples), "--seed", str(seed),
               "--workers", "1", "--suppress-health-check", "all", "--no-color"]
    if report is not None:
        command += ["--report", "ndjson", "--report-ndjson-path", str(report)]
    return command
