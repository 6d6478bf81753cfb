"""Job templates triggered through the API (the shape of template-driven orchestration servers).

A template marked `api_trigger` (by a user who may edit it) can be run with
`/api/jobs/trigger?template=NAME&key=KEY`: the job runs on the template's
`api_trigger_targets` as the user who marked it, and the answer is an opaque job token;
`/api/jobs/status` and `/api/jobs/logs` read the job with that token and the same key. Only
SHA-256 digests of the key and of the token are stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rex.errors import RexError, ValidationFailed
from rex.invocations import InvocationRequest, create_invocation
from rex.models import HostRun, JobInvocation, JobTemplate, OutputEvent, User
from rex.runtime import Runtime
from rex.targeting import names_query
from rex.targets import resolve_targets

__all__ = ["TriggerError", "configure", "job_for_token", "log_text", "status_word", "trigger"]

RESERVED = ("template", "key", "token")


class TriggerError(RexError):
    """A trigger, status or logs request that cannot be served: HTTP status and plain text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def configure(session: AsyncSession, template: JobTemplate, attrs: Mapping[str, Any],
                    user: User) -> None:
    """Apply `api_trigger`, `api_key` and `api_trigger_targets` from a template body."""
    if "api_trigger_targets" in attrs:
        targets = attrs["api_trigger_targets"]
        if targets is None:
            template.api_trigger_targets = None
        else:
            await resolve_targets(session, targets, user=user)  # 422/403 now, not at trigger time
            template.api_trigger_targets = json.dumps(targets)
    if "api_key" in attrs:
        key = attrs["api_key"]
        if key is not None and (not isinstance(key, str) or len(key) < 8):
            raise ValidationFailed.field("api_key", "must be at least 8 characters")
        template.api_key_hash = _digest(key) if key else None
    if "api_trigger" in attrs:
        template.api_trigger = bool(attrs["api_trigger"])
        template.api_trigger_user_id = user.id if template.api_trigger else None
    if template.api_trigger and not template.api_trigger_targets:
        raise ValidationFailed.field("api_trigger_targets", "must be given to trigger through "
                                     "the API (the hosts every triggered job runs on)")


def _key_matches(template: JobTemplate, key: str | None) -> bool:
    if template.api_key_hash is None:
        return key in (None, "")
    return key is not None and hmac.compare_digest(_digest(key), template.api_key_hash)


async def trigger(session: AsyncSession, runtime: Runtime, params: Mapping[str, str], *,
                  authenticated: bool, now: datetime) -> tuple[JobInvocation, str]:
    """Create and start a job from the named template; return it and its token."""
    name = params.get("template")
    if not name:
        raise TriggerError(400, "Missing parameter: template")
    template = await session.scalar(select(JobTemplate).where(JobTemplate.name == name))
    if template is None:
        raise TriggerError(404, f"Unknown template: {name}")
    if not template.api_trigger or template.api_trigger_user_id is None:
        raise TriggerError(403, f"Template {name} is not enabled for API triggering")
    if not _key_matches(template, params.get("key")):
        raise TriggerError(403, "Wrong key")
    if template.api_key_hash is None and not authenticated:
        raise TriggerError(401, f"Template {name} has no api_key: authenticate with HTTP Basic "
                           "or a Bearer token")
    user = await session.get(User, template.api_trigger_user_id)
    if user is None or user.disabled:
        raise TriggerError(403, f"The user who enabled {name} for API triggering cannot run jobs")
    inputs = {k: v for k, v in params.items() if k not in RESERVED}
    try:
        hosts = await resolve_targets(session, json.loads(template.api_trigger_targets), user=user)
        if not hosts:
            raise TriggerError(400, "The template's api_trigger_targets select no host")
        job = await create_invocation(
            session, vault=runtime.vault, settings=runtime.settings, user=user, now=now,
            req=InvocationRequest(job_template_id=template.id, inputs=inputs,
                                  search_query=names_query([n for _, n in hosts])))
    except ValidationFailed as exc:
        problems = "; ".join(f"{k} {' '.join(v)}" for k, v in (exc.errors or {}).items())
        raise TriggerError(400, problems or exc.message) from exc
    token = secrets.token_urlsafe(32)
    job.trigger_token_hash = _digest(token)
    await session.flush()
    return job, token


async def job_for_token(session: AsyncSession, params: Mapping[str, str]) -> JobInvocation:
    """Return the job of `token`, checking `key` against its template's; 400/403 otherwise."""
    token = params.get("token")
    if not token:
        raise TriggerError(400, "Missing parameter: token")
    job = await session.scalar(select(JobInvocation).where(
        JobInvocation.trigger_token_hash == _digest(token)))
    if job is None:
        raise TriggerError(400, "Unknown token")
    template = await session.get(JobTemplate, job.template_id) if job.template_id else None
    if template is not None and not _key_matches(template, params.get("key")):
        raise TriggerError(403, "Wrong key")
    return job


async def status_word(session: AsyncSession, job: JobInvocation) -> str:
    """Return Pending, Executing, Succeeded, Warning (some hosts failed) or Error."""
    if job.state in ("scheduled", "planned"):
        return "Pending"
    if job.state == "running":
        return "Executing"
    if job.result == "success":
        return "Succeeded"
    if job.result == "cancelled" or job.cancel_requested_by:
        return "Error"
    succeeded = await session.scalar(select(func.count()).where(
        HostRun.job_invocation_id == job.id, HostRun.result == "success"))
    return "Warning" if succeeded else "Error"


_LEVEL = {"stdout": "INFO", "stderr": "WARN", "debug": "DEBUG"}


async def log_text(session: AsyncSession, job: JobInvocation) -> str:
    """Every output line of the job in stored order, `LEVEL: <host>: <text>`; then each host's
    exit status (DEBUG) and failure (ERROR)."""
    rows = await session.execute(
        select(HostRun.host_name, OutputEvent.stream, OutputEvent.data)
        .join(HostRun, HostRun.id == OutputEvent.host_run_id)
        .where(HostRun.job_invocation_id == job.id).order_by(OutputEvent.id))
    lines = []
    for host, stream, data in rows:
        for line in data.decode(errors="replace").splitlines():
            lines.append(f"{_LEVEL.get(stream, 'INFO')}: {host}: {line}\n")
    ended = (await session.execute(
        select(HostRun.host_name, HostRun.result, HostRun.exit_status, HostRun.error_kind)
        .where(HostRun.job_invocation_id == job.id, HostRun.state == "finished")
        .order_by(HostRun.position))).all()
    for host, _result, exit_status, _kind in ended:
        if exit_status is not None:
            lines.append(f"DEBUG: {host}: Exit status: {exit_status}\n")
    for host, result, exit_status, kind in ended:
        if result != "success":
            lines.append(f"ERROR: {host}: {result} ({kind or f'exit status {exit_status}'})\n")
    return "".join(lines)
