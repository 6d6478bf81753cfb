"""Check a host before a job definition is saved: are its executables there?

Runs one small script on the host through the engine, right away, as the SSH user (as
`check_host` on /api/job_definitions/validate asks), and reports which paths `command -v`
does not find.
"""

from __future__ import annotations

import shlex
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from rex.executor import build_target
from rex.identity import ensure_identity
from rex.known_hosts import DatabaseKnownHosts
from rex.models import Host, JobInvocation
from rex.runtime import Runtime
from rex.ssh import ClientIdentity, Engine
from rex.targets import os_condition

__all__ = ["missing_executables"]


class _Collect:
    """A sink that keeps the output in memory."""

    def __init__(self) -> None:
        self.text: dict[str, bytes] = {}

    async def emit(self, stream: str, data: bytes) -> None:
        self.text[stream] = self.text.get(stream, b"") + data


async def missing_executables(runtime: Runtime, host_id: int, definition: Mapping[str, Any]
                              ) -> list[dict[str, str]]:
    """Return errors for the task executables `host_id` lacks (none when osFilter skips it)."""
    paths = {i: t["executablePath"] for i, t in enumerate(definition.get("tasks") or ())
             if isinstance(t, Mapping) and isinstance(t.get("executablePath"), str)}
    async with runtime.db.reader() as session:
        host = await session.scalar(select(Host).where(Host.id == host_id)
                                    .options(selectinload(Host.parameters), selectinload(Host.facts)))
        if host is None:
            return [{"path": "check_host", "message": f"no host with id {host_id}"}]
        os_filter = definition.get("osFilter")
        if isinstance(os_filter, Mapping):
            wanted = [os_condition(k.lower()) for k, on in os_filter.items() if on]
            if not wanted or await session.scalar(
                    select(Host.id).where(Host.id == host_id, or_(*wanted))) is None:
                return []  # osFilter leaves this host out: nothing of it would run there
    if not paths:
        return []
    script = "".join(f'command -v {shlex.quote(p)} >/dev/null 2>&1 || echo {i}\n'
                     for i, p in paths.items())
    job = JobInvocation(task_id=str(uuid.uuid4()), script=script, runtime="sh", inputs=[],
                        execution_timeout_interval=30)
    prepared = build_target(runtime, job=job, template=None, host=host)
    if prepared.target is None:
        return [{"path": "check_host", "message": prepared.error or "cannot reach the host"}]
    settings = runtime.settings
    identity = ClientIdentity.load(ensure_identity(settings), settings.ssh_identity_passphrase)
    engine = Engine(identity, DatabaseKnownHosts(runtime), concurrency=1)
    sink = _Collect()
    result = await engine.run(prepared.target, sink)
    if result.status != "success":
        reason = sink.text.get("debug", b"").decode(errors="replace").strip()
        return [{"path": "check_host", "message": f"could not check {host.name}: "
                 f"{reason or result.error_kind or result.exit_status}"}]
    missing = [int(x) for x in sink.text.get("stdout", b"").split()]
    return [{"path": f"tasks[{i}].executablePath",
             "message": f"{paths[i]} is missing on {host.name}"} for i in missing]

