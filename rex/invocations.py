"""Job invocations: create one from a template, inputs and targeting; compute its status."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from rex.bookmarks import targeting_query
from rex.config import Settings
from rex.errors import NotFound, ValidationFailed
from rex.models import (
    Bookmark,
    HostRun,
    JobInvocation,
    JobInvocationInput,
    JobTemplate,
    RemoteExecutionFeature,
    TemplateInput,
    User,
)
from rex.permissions import host_scope
from rex.recurring import new_logic
from rex.refs import as_id
from rex.rendering import describe
from rex.secrets import Vault
from rex.targeting import names_query, query_for_hosts, resolve_hosts
from rex.targets import firing_hosts

__all__ = [
    "STATUS_LABELS",
    "InvocationRequest",
    "create_invocation",
    "find_invocation",
    "host_counts",
    "job_status",
    "plan_hosts",
]

STATUS_LABELS = {0: "succeeded", 1: "failed", 2: "queued", 3: "running", 4: "cancelled"}


@dataclass
class InvocationRequest:
    """What a user asked to run; mirrors Foreman's `job_invocation` body."""

    job_template_id: int | str | None = None
    feature: str | None = None
    targeting_type: str = "static_query"
    search_query: str | None = None
    host_ids: list[str | int] | None = None
    bookmark_id: int | None = None
    randomized_ordering: bool = False
    inputs: dict[str, Any] = field(default_factory=dict)
    effective_user: str | None = None
    effective_user_password: str | None = None
    ssh_user: str | None = None
    password: str | None = None
    key_passphrase: str | None = None
    concurrency_level: int | None = None
    execution_timeout_interval: int | None = None
    time_to_pickup: int | None = None
    description_format: str | None = None
    start_at: datetime | None = None
    start_before: datetime | None = None
    cron_line: str | None = None
    max_iteration: int | None = None
    end_time: datetime | None = None
    purpose: str | None = None
    # A plain job's script (POST /api/jobs): run as written, no template, no inputs.
    script: str | None = None
    runtime: str | None = None
    job_id: int | None = None
    name: str | None = None
    environment: str | None = None  # JSON, see JobInvocation.environment
    retry_count: int = 0
    retry_delay: int = 0
    queue_offline: bool = False
    offline_ttl: int = 3600
    job_definition_id: str | None = None
    priority: int = 5
    segments: list | None = None  # rex.segments, for job definitions with Http tasks


async def _template_for(session: AsyncSession, req: InvocationRequest) -> tuple[JobTemplate, str | None]:
    if req.feature and req.job_template_id is not None:
        raise ValidationFailed("Only one of feature or job_template_id can be specified")
    stmt = select(JobTemplate).options(selectinload(JobTemplate.inputs))
    if req.feature:
        feature = await session.scalar(
            select(RemoteExecutionFeature).where(RemoteExecutionFeature.label == req.feature)
        )
        if feature is None or feature.job_template_id is None:
            raise ValidationFailed.field("feature", f"'{req.feature}' is not a known feature")
        return (await session.scalar(stmt.where(JobTemplate.id == feature.job_template_id))), req.feature
    if req.job_template_id is None:
        raise ValidationFailed.field("job_template_id", "must be given (or feature)")
    ref = str(req.job_template_id)
    cond = JobTemplate.name == ref
    if as_id(ref) is not None:
        cond = JobTemplate.id == as_id(ref)
    template = await session.scalar(stmt.where(cond))
    if template is None:
        raise NotFound(f"Template with id '{ref}' was not found")
    return template, None


def _input_values(template: JobTemplate, given: Mapping[str, Any]) -> dict[str, str | None]:
    defs = {i.name: i for i in template.inputs}
    unknown = [name for name in given if name not in defs]
    if unknown:
        raise ValidationFailed.field(
            "inputs", f"Unknown input {unknown[0]} for template {template.name}"
        )
    values: dict[str, str | None] = {}
    for name, spec in defs.items():
        if spec.input_type != "user":
            continue
        raw = given.get(name)
        value = None if raw is None else (raw if isinstance(raw, str) else str(raw))
        if value in (None, "") and spec.default is not None:
            value = spec.default
        _check_option(template, spec, value)
        values[name] = value
    missing = [n for n, s in defs.items() if s.input_type == "user" and s.required and not values.get(n)]
    if missing:
        raise ValidationFailed.field(
            "inputs",
            f"Template {template.name}: Not all required inputs have values. "
            f"Missing inputs: {', '.join(missing)}",
        )
    return values


def _check_option(template: JobTemplate, spec: TemplateInput, value: str | None) -> None:
    options = [o for o in (spec.options or "").splitlines() if o.strip()]
    if options and value not in (None, "") and value not in options:
        raise ValidationFailed.field(
            "inputs",
            f"Value '{value}' of input {spec.name} is not one of: {', '.join(options)}",
        )


def _effective_user(template: JobTemplate, req: InvocationRequest, user: User) -> str | None:
    if template.effective_user_current_user:
        return user.login
    if req.effective_user and template.effective_user_overridable:
        return req.effective_user
    return template.effective_user_value or None


def _positive(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise ValidationFailed.field(name, "must be greater than 0")


async def _search_query(session: AsyncSession, req: InvocationRequest, user: User) -> str:
    if req.bookmark_id is not None:
        if req.search_query is not None and req.search_query.strip():
            raise ValidationFailed.field("bookmark_id", "Cannot specify both bookmark_id and "
                                         "search_query")
        return await targeting_query(session, bookmark_id=req.bookmark_id, user=user)
    if req.search_query is not None and req.search_query.strip():
        return req.search_query
    if req.host_ids:
        return await query_for_hosts(session, req.host_ids)
    raise ValidationFailed(
        "Validation failed: Targeting: Search query Must select a bookmark or enter a search query",
        {"search_query": ["Must select a bookmark or enter a search query"]},
    )


async def create_invocation(
    session: AsyncSession,
    *,
    vault: Vault,
    settings: Settings,
    user: User,
    req: InvocationRequest,
    now: datetime,
) -> JobInvocation:
    """Validate `req`, store the job and, unless it waits for `start_at`, plan its hosts."""
    if req.targeting_type not in ("static_query", "dynamic_query"):
        raise ValidationFailed.field("targeting_type", "must be static_query or dynamic_query")
    for name in ("concurrency_level", "execution_timeout_interval", "time_to_pickup"):
        _positive(name, getattr(req, name))
    if req.script is None:
        template, feature = await _template_for(session, req)
    else:
        template, feature = None, None
    query = await _search_query(session, req, user)
    values = _input_values(template, req.inputs) if template else {}
    hidden = {i.name for i in template.inputs if i.hidden_value} if template else set()
    logic, start_at = None, req.start_at
    if req.cron_line is not None:
        logic, start_at = await new_logic(
            session, cron_line=req.cron_line, max_iteration=req.max_iteration,
            end_time=req.end_time, purpose=req.purpose, start_at=req.start_at, user_id=user.id,
            now=now,
        )
    job = JobInvocation(
        task_id=str(uuid.uuid4()),
        job_category=template.job_category if template else "Commands",
        template_id=template.id if template else None,
        template_name=template.name if template else f"{req.runtime} script",
        job_id=req.job_id,
        script=req.script,
        runtime=req.runtime,
        environment=req.environment,
        retry_count=req.retry_count,
        retry_delay=req.retry_delay,
        queue_offline=req.queue_offline,
        offline_ttl=req.offline_ttl,
        job_definition_id=req.job_definition_id,
        segments=json.dumps(req.segments) if req.segments else None,
        priority=req.priority,
        feature=feature,
        user_id=user.id,
        targeting_type="static_query" if feature else req.targeting_type,
        search_query=query,
        bookmark_id=req.bookmark_id,
        randomized_ordering=req.randomized_ordering,
        ssh_user=req.ssh_user,
        effective_user=_effective_user(template, req, user) if template else req.effective_user,
        password=vault.encrypt(req.password),
        key_passphrase=vault.encrypt(req.key_passphrase),
        effective_user_password=vault.encrypt(req.effective_user_password),
        concurrency_level=req.concurrency_level,
        execution_timeout_interval=req.execution_timeout_interval
        or (template.execution_timeout_interval if template else None),
        time_to_pickup=req.time_to_pickup,
        description_format=req.description_format,
        description=req.name if template is None else describe(
            req.description_format or template.description_format,
            template_name=template.name,
            job_category=template.job_category,
            inputs=values,
            hidden=hidden,
        ),
        start_at=start_at or now,
        start_before=req.start_before,
        state="scheduled" if start_at and (start_at > now or logic) else "planned",
        recurring_logic_id=logic.id if logic else None,
        iteration=1 if logic else None,
    )
    by_name = {i.name: i for i in template.inputs} if template else {}
    job.inputs = [
        JobInvocationInput(
            template_input_id=by_name[name].id,
            name=name,
            value=vault.encrypt(value) if name in hidden else value,
            hidden=name in hidden,
        )
        for name, value in values.items()
    ]
    session.add(job)
    await session.flush()
    if job.state == "planned" or job.targeting_type == "static_query":
        await plan_hosts(session, job=job, now=now, start=job.state == "planned")
    return job


async def plan_hosts(session: AsyncSession, *, job: JobInvocation, now: datetime, start: bool) -> None:
    """Resolve the job's hosts into queued host runs; a job with no host ends at once."""
    if job.targeting_type == "dynamic_query" and job.bookmark_id is not None:
        bookmark = await session.get(Bookmark, job.bookmark_id)  # re-read at every run
        if bookmark is not None:
            job.search_query = bookmark.query
    hosts = await firing_hosts(session, job) if job.targeting_type == "dynamic_query" else None
    if hosts is not None:  # a scheduled plain job: its targets, resolved again
        if hosts:
            job.search_query = names_query([name for _, name in hosts])
    else:
        # Only hosts the job's user may see count; the others are left out silently, as in Foreman.
        visible = await host_scope(session, job.user_id)
        hosts = await resolve_hosts(
            session, job.search_query, randomized=job.randomized_ordering, visible=visible
        )
    session.add_all(
        HostRun(
            job_invocation_id=job.id,
            host_id=host_id,
            host_name=name,
            position=position,
            task_id=str(uuid.uuid4()),
            queued_at=now,
        )
        for position, (host_id, name) in enumerate(hosts)
    )
    job.total_hosts = len(hosts)
    job.resolved_at = now
    if start and not hosts:
        job.state, job.result = "stopped", "success"
        job.started_at = job.ended_at = now
    await session.flush()


async def find_invocation(session: AsyncSession, ref: str | int, *, bare: bool = False) -> JobInvocation:
    """Return the job with id `ref`, or raise NotFound in Foreman's words."""
    text = str(ref)
    job = None
    if as_id(text) is not None:
        job = await session.scalar(
            select(JobInvocation)
            .where(JobInvocation.id == as_id(text))
            .options(selectinload(JobInvocation.inputs))
        )
    if job is None:
        if bare:
            raise NotFound(f"Job invocation not found by id '{text}'", bare=True)
        raise NotFound(f"Resource job_invocation not found by id '{text}'")
    return job


def job_status(job: JobInvocation) -> int:
    """Map the job's task state and result to Foreman's status int."""
    if job.state == "scheduled":
        return 2
    if job.state != "stopped":
        return 3
    return {"success": 0, "cancelled": 4}.get(job.result, 1)


async def host_counts(session: AsyncSession, job_ids: list[int]) -> dict[int, dict[str, int]]:
    """Count each job's host runs by result."""
    rows = (
        await session.execute(
            select(HostRun.job_invocation_id, HostRun.result, func.count())
            .where(HostRun.job_invocation_id.in_(job_ids))
            .group_by(HostRun.job_invocation_id, HostRun.result)
        )
    ).all()
    counts: dict[int, dict[str, int]] = {i: {} for i in job_ids}
    for job_id, result, n in rows:
        counts[job_id][result] = n
    return counts
