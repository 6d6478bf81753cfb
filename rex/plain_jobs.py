"""Plain jobs (POST /api/jobs): a script, a runtime and targets, on top of job invocations.

A job owns one job invocation (run now) or one recurring logic whose firings are its
invocations, so everything a job does is also visible through the Foreman API. Its targets
are resolved when it is created, to the hosts its user may see (a static host list, as
Foreman's static_query); a scheduled job's firings are dynamic_query: each resolves the
targets again when it starts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from rex.errors import Conflict, NotFound, ValidationFailed
from rex.executor import build_target
from rex.invocations import InvocationRequest, create_invocation
from rex.jobs import cancel_job
from rex.models import Host, HostRun, Job, JobInvocation, OutputEvent, RecurringLogic, User
from rex.recurring import LIVE_STATES, cancel_logic
from rex.refs import as_id
from rex.runtime import Runtime
from rex.secrets import MASK
from rex.targeting import names_query
from rex.targets import resolve_targets
from rex.vault import Environment, parse_environment, secret_values
from rex.wrapper import RUNTIMES

__all__ = ["JobSpec", "cancel_plain_job", "create_plain_job", "delete_plain_job", "dry_run",
           "execution_rows", "find_job", "job_view", "parse_job"]

ALLOWED = ("name", "runtime", "script", "targets", "timeout", "schedule", "retry_count",
           "retry_delay", "queue_offline", "offline_ttl", "variables", "secrets", "dry_run")
DEFAULT_RETRY_DELAY = 10
DEFAULT_OFFLINE_TTL = 3600


@dataclass(frozen=True)
class JobSpec:
    """A validated POST /api/jobs body."""

    name: str
    runtime: str
    script: str
    targets: dict[str, Any]
    timeout: int | None
    schedule: str | None
    dry_run: bool
    variables: Any = None
    secrets: Any = None
    retry_count: int = 0
    retry_delay: int = DEFAULT_RETRY_DELAY
    queue_offline: bool = False
    offline_ttl: int = DEFAULT_OFFLINE_TTL


def _integer(body: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed.field(key, f"must be a whole number from {low} to {high}")
    return value


def _text(body: Mapping[str, Any], key: str, *, required: bool, limit: int | None = None) -> str | None:
    value = body.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed.field(key, "can't be blank")
        return None
    if not isinstance(value, str):
        raise ValidationFailed.field(key, "must be a string")
    if limit is not None and len(value) > limit:
        raise ValidationFailed.field(key, f"is too long (at most {limit} characters)")
    return value


def parse_job(body: Any) -> JobSpec:
    """Validate a POST /api/jobs body; 422 naming the first wrong field."""
    if not isinstance(body, Mapping):
        raise ValidationFailed("The job must be a JSON object")
    unknown = [k for k in body if k not in ALLOWED]
    if unknown:
        raise ValidationFailed.field(unknown[0], f"is not a job field; use {', '.join(ALLOWED)}")
    runtime = body.get("runtime", "sh")
    if runtime not in RUNTIMES:
        raise ValidationFailed.field("runtime", f"must be one of {', '.join(RUNTIMES)}")
    retry_count = _integer(body, "retry_count", 0, 5) or 0
    retry_delay = _integer(body, "retry_delay", 0, 86400)
    offline_ttl = _integer(body, "offline_ttl", 1, 30 * 86400)
    for key in ("dry_run", "queue_offline"):
        if not isinstance(body.get(key) or False, bool):
            raise ValidationFailed.field(key, "must be true or false")
    if "targets" not in body:
        raise ValidationFailed.field("targets", "can't be blank")
    return JobSpec(
        name=_text(body, "name", required=True, limit=255),
        runtime=runtime,
        script=_text(body, "script", required=True, limit=1024 * 1024),
        targets=body["targets"],
        timeout=_integer(body, "timeout", 1, 30 * 86400),
        schedule=_text(body, "schedule", required=False, limit=255),
        dry_run=body.get("dry_run", False),
        variables=body.get("variables"),
        secrets=body.get("secrets"),
        retry_count=retry_count,
        retry_delay=DEFAULT_RETRY_DELAY if retry_delay is None else retry_delay,
        queue_offline=bool(body.get("queue_offline")),
        offline_ttl=offline_ttl or DEFAULT_OFFLINE_TTL,
    )


async def _invocation_request(session: AsyncSession, spec: JobSpec, user: User,
                              job_id: int | None) -> InvocationRequest:
    environment = await parse_environment(session, spec.variables, spec.secrets)
    hosts = await resolve_targets(session, spec.targets, user=user)
    if not hosts:
        raise ValidationFailed.field("targets", "select no host you may run jobs on")
    return InvocationRequest(
        search_query=names_query([name for _, name in hosts]), script=spec.script,
        # a schedule's firings resolve the targets again (rex.targets.firing_hosts)
        targeting_type="dynamic_query" if spec.schedule else "static_query",
        runtime=spec.runtime, job_id=job_id, name=spec.name,
        execution_timeout_interval=spec.timeout, cron_line=spec.schedule,
        environment=environment.to_json(), retry_count=spec.retry_count,
        retry_delay=spec.retry_delay, queue_offline=spec.queue_offline,
        offline_ttl=spec.offline_ttl,
    )


async def create_plain_job(session: AsyncSession, runtime: Runtime, *, user: User, spec: JobSpec,
                           now: datetime) -> tuple[Job, JobInvocation]:
    """Store the job and its first invocation (started now, or scheduled by `schedule`)."""
    job = Job(name=spec.name, runtime=spec.runtime, script=spec.script,
              targets=json.dumps(spec.targets), timeout=spec.timeout, schedule=spec.schedule,
              retry_count=spec.retry_count, retry_delay=spec.retry_delay,
              queue_offline=spec.queue_offline, offline_ttl=spec.offline_ttl, user_id=user.id)
    session.add(job)
    await session.flush()
    request = await _invocation_request(session, spec, user, job.id)
    job.environment = request.environment
    invocation = await create_invocation(session, vault=runtime.vault, settings=runtime.settings,
                                         user=user, req=request, now=now)
    job.recurring_logic_id = invocation.recurring_logic_id
    await session.flush()
    return job, invocation


async def dry_run(session: AsyncSession, runtime: Runtime, *, user: User,
                  request: InvocationRequest, now: datetime) -> list[dict[str, Any]]:
    """Render what would run on every host, secrets masked, and write nothing."""
    savepoint = await session.begin_nested()
    try:
        invocation = await create_invocation(session, vault=runtime.vault,
                                             settings=runtime.settings, user=user, req=request,
                                             now=now)
        return await preview(session, runtime, invocation)
    finally:
        await savepoint.rollback()


async def plain_dry_run(session: AsyncSession, runtime: Runtime, *, user: User, spec: JobSpec,
                        now: datetime) -> list[dict[str, Any]]:
    """Dry run of a plain job."""
    request = await _invocation_request(session, spec, user, None)
    request.cron_line = None  # what each firing would run
    return await dry_run(session, runtime, user=user, request=request, now=now)


async def preview(session: AsyncSession, runtime: Runtime, job: JobInvocation) -> list[dict[str, Any]]:
    """Return, per planned host, who the script runs as and the script with secrets masked."""
    from rex.models import JobTemplate

    template = None
    if job.template_id is not None:
        template = await session.scalar(select(JobTemplate).where(JobTemplate.id == job.template_id)
                                        .options(selectinload(JobTemplate.inputs)))
    runs = (await session.scalars(select(HostRun).where(HostRun.job_invocation_id == job.id)
                                  .order_by(HostRun.position))).all()
    if not runs:  # a scheduled job plans its hosts when it starts
        from rex.invocations import plan_hosts
        await plan_hosts(session, job=job, now=job.start_at, start=False)
        runs = (await session.scalars(select(HostRun).where(HostRun.job_invocation_id == job.id)
                                      .order_by(HostRun.position))).all()
    hosts = {h.id: h for h in (await session.scalars(
        select(Host).where(Host.id.in_([r.host_id for r in runs]))
        .options(selectinload(Host.parameters), selectinload(Host.facts))))}
    await session.refresh(job, ["inputs"])
    keys = set(Environment.from_json(job.environment).secrets.values())
    values = await secret_values(session, runtime.vault, keys)
    rows = []
    for run in runs:
        prepared = build_target(runtime, job=job, template=template, host=hosts.get(run.host_id),
                                vault_values=values)
        row: dict[str, Any] = {"id": run.host_id, "name": run.host_name}
        target = prepared.target
        if target is None:
            row.update(effective_user=None, script=None, script_sha512=None,
                       error=_masked(prepared.error or "", prepared.secrets))
        else:
            row.update(effective_user=target.effective_user or target.ssh_user,
                       script=_masked(target.script, prepared.secrets),
                       script_sha512=hashlib.sha512(target.script.encode()).hexdigest())
        rows.append(row)
    return rows


def _masked(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


async def find_job(session: AsyncSession, ref: str | int) -> Job:
    """Return the job with id `ref`, or 404."""
    job_id = as_id(str(ref))
    job = await session.get(Job, job_id) if job_id is not None else None
    if job is None:
        raise NotFound(f"Resource job not found by id '{ref}'")
    return job


async def _invocations(session: AsyncSession, job: Job) -> list[JobInvocation]:
    return list((await session.scalars(
        select(JobInvocation).where(JobInvocation.job_id == job.id).order_by(JobInvocation.id)
    )).all())


def _status(invocations: list[JobInvocation], logic: RecurringLogic | None) -> str:
    if logic is not None and logic.state in LIVE_STATES:
        running = any(i.state in ("planned", "running") for i in invocations)
        return "running" if running else "scheduled"
    if not invocations:
        return "cancelled" if logic is not None else "pending"
    last = invocations[-1]
    if last.state in ("scheduled", "planned"):
        return "pending" if last.state == "planned" else "scheduled"
    if last.state == "running":
        return "running"
    if last.cancel_requested_by is not None:
        return "cancelled"
    return {"success": "succeeded", "cancelled": "cancelled"}.get(last.result, "failed")


async def job_view(session: AsyncSession, job: Job) -> dict[str, Any]:
    """Render a job with its invocation ids and status."""
    invocations = await _invocations(session, job)
    logic = await session.get(RecurringLogic, job.recurring_logic_id) if job.recurring_logic_id else None
    environment = Environment.from_json(job.environment)
    return {
        "id": job.id, "name": job.name, "runtime": job.runtime, "script": job.script,
        "targets": json.loads(job.targets), "timeout": job.timeout, "schedule": job.schedule,
        "retry_count": job.retry_count, "retry_delay": job.retry_delay,
        "queue_offline": job.queue_offline, "offline_ttl": job.offline_ttl,
        "variables": environment.variables,
        "secrets": [{"env": k, "vault_key": v} for k, v in environment.secrets.items()],
        "status": _status(invocations, logic), "user_id": job.user_id,
        "recurring_logic_id": job.recurring_logic_id,
        "invocation_ids": [i.id for i in invocations],
        "job_definition_id": next((i.job_definition_id for i in invocations
                                   if i.job_definition_id), None),
        "created_at": job.created_at, "updated_at": job.updated_at,
    }


_EXECUTION_STATUS = {"success": "success", "cancelled": "cancelled", "skipped": "skipped"}


def _execution_status(run: HostRun) -> str:
    if run.state == "queued":
        return "pending"
    if run.state == "running":
        return "running"
    return _EXECUTION_STATUS.get(run.result, "failed")


async def execution_rows(session: AsyncSession, job: Job, runs: list[HostRun]) -> list[dict[str, Any]]:
    """Render host runs as execution rows, with their stdout and stderr."""
    output: dict[tuple[int, str], list[bytes]] = {}
    if runs:
        events = await session.execute(
            select(OutputEvent.host_run_id, OutputEvent.stream, OutputEvent.data)
            .where(OutputEvent.host_run_id.in_([r.id for r in runs]),
                   OutputEvent.stream.in_(("stdout", "stderr")))
            .order_by(OutputEvent.host_run_id, OutputEvent.seq))
        for run_id, stream, data in events:
            output.setdefault((run_id, stream), []).append(data)
    owners = {r.id: r.job_invocation_id for r in runs if r.job_invocation_id is not None}
    missing = {r.attempt_of_id for r in runs if r.job_invocation_id is None} - set(owners)
    if missing:
        owners.update(dict((await session.execute(
            select(HostRun.id, HostRun.job_invocation_id).where(HostRun.id.in_(missing)))).all()))
    rows = []
    for run in runs:
        duration = None
        if run.started_at and run.finished_at:
            duration = round((run.finished_at - run.started_at).total_seconds(), 3)
        rows.append({
            "invocation_id": owners.get(run.id if run.job_invocation_id is not None
                                        else run.attempt_of_id),
            "host_id": run.host_id, "host_name": run.host_name, "attempt": run.attempt,
            "status": _execution_status(run),
            "exit_code": run.exit_status, "duration_s": duration,
            "stdout": b"".join(output.get((run.id, "stdout"), [])).decode(errors="replace"),
            "stderr": b"".join(output.get((run.id, "stderr"), [])).decode(errors="replace"),
            "started_at": run.started_at, "finished_at": run.finished_at,
            "script_sha512": run.script_sha512,
        })
    return rows


def executions_query(job: Job):
    """Select the job's host runs and their earlier attempts."""
    current = (select(HostRun.id).join(JobInvocation, JobInvocation.id == HostRun.job_invocation_id)
               .where(JobInvocation.job_id == job.id))
    return select(HostRun).where(or_(HostRun.id.in_(current), HostRun.attempt_of_id.in_(current)))


# by invocation (an earlier attempt sorts with its host's run), host, attempt
EXECUTION_ORDER = (func.coalesce(HostRun.attempt_of_id, HostRun.id), HostRun.attempt)


async def cancel_plain_job(session: AsyncSession, *, job: Job, by: str, now: datetime) -> None:
    """Cancel the job's running or waiting invocations and stop its recurrence."""
    if job.recurring_logic_id is not None:
        logic = await session.get(RecurringLogic, job.recurring_logic_id)
        if logic is not None and logic.state in LIVE_STATES:
            await cancel_logic(session, logic=logic, by=by, now=now)
    for invocation in await _invocations(session, job):
        if invocation.state != "stopped":
            await cancel_job(session, job=invocation, by=by, force=False, now=now)


async def delete_plain_job(session: AsyncSession, *, job: Job) -> None:
    """Delete the job and its execution history; 409 while anything of it may still run."""
    logic = await session.get(RecurringLogic, job.recurring_logic_id) if job.recurring_logic_id else None
    if logic is not None and logic.state in LIVE_STATES:
        raise Conflict(f"Job {job.id} is scheduled: cancel it before deleting it",
                       status=409)
    busy = await session.scalar(select(func.count()).where(
        JobInvocation.job_id == job.id, JobInvocation.state != "stopped"))
    if busy:
        raise Conflict(f"Job {job.id} is queued or running: cancel it before deleting it",
                       status=409)
    await session.execute(delete(JobInvocation).where(JobInvocation.job_id == job.id))
    await session.delete(job)
    await session.flush()
