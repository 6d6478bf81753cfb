"""Recurring jobs: a logic fires a new job invocation at each cron occurrence."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rex.errors import Conflict, NotFound, ValidationFailed
from rex.models import HostRun, JobInvocation, JobInvocationInput, RecurringLogic
from rex.recurrence import check_cron, next_run
from rex.refs import as_id

__all__ = [
    "cancel_logic",
    "find_logic",
    "new_logic",
    "schedule_next",
    "set_enabled",
    "task_count",
]

LIVE_STATES = ("active", "disabled")


async def new_logic(
    session: AsyncSession,
    *,
    cron_line: str,
    max_iteration: int | None,
    end_time: datetime | None,
    purpose: str | None,
    start_at: datetime | None,
    user_id: int,
    now: datetime,
) -> tuple[RecurringLogic, datetime]:
    """Validate and store a recurrence; return it with its first firing time."""
    check_cron(cron_line)
    if max_iteration is not None and max_iteration < 1:
        raise ValidationFailed.field("max_iteration", "must be greater than 0")
    if purpose:
        taken = await session.scalar(
            select(RecurringLogic.id).where(
                RecurringLogic.purpose == purpose, RecurringLogic.state.in_(LIVE_STATES)
            )
        )
        if taken is not None:
            raise ValidationFailed.field("purpose", "has already been taken by an active recurrence")
    base = max(now, start_at) if start_at else now
    first = next_run(cron_line, base - timedelta(microseconds=1))
    if first is None or (end_time is not None and first > end_time):
        raise ValidationFailed.field("end_time", "leaves no occurrence to run")
    logic = RecurringLogic(
        cron_line=cron_line, max_iteration=max_iteration, end_time=end_time, purpose=purpose,
        start_at=start_at, state="active", iteration=1, next_occurrence=first, user_id=user_id,
    )
    session.add(logic)
    await session.flush()
    return logic, first


async def schedule_next(session: AsyncSession, *, job: JobInvocation, now: datetime) -> JobInvocation | None:
    """When a recurring job starts, create the next firing's job (once, whoever comes first)."""
    logic = await session.get(RecurringLogic, job.recurring_logic_id)
    if logic is None or logic.state != "active":
        return None
    logic.last_occurrence = job.start_at
    after = max(job.start_at or now, now - timedelta(seconds=59))
    following = next_run(logic.cron_line, after)
    done = logic.max_iteration is not None and job.iteration >= logic.max_iteration
    if done or following is None or (logic.end_time is not None and following > logic.end_time):
        logic.state, logic.next_occurrence = "finished", None
        await session.flush()
        return None
    clone = _clone(job, iteration=job.iteration + 1, start_at=following)
    try:
        async with session.begin_nested():
            session.add(clone)
            await session.flush()
    except IntegrityError:
        return None  # another scheduler created this firing first
    logic.iteration = clone.iteration
    logic.next_occurrence = following
    await _copy_static_hosts(session, source=job, target=clone)
    await session.flush()
    return clone


def _clone(job: JobInvocation, *, iteration: int, start_at: datetime) -> JobInvocation:
    copied = {
        column: getattr(job, column)
        for column in (
            "description", "description_format", "job_category", "template_id", "template_name",
            "feature", "user_id", "targeting_type", "search_query", "randomized_ordering",
            "ssh_user", "effective_user", "password", "key_passphrase",
            "effective_user_password", "concurrency_level", "execution_timeout_interval",
            "time_to_pickup", "recurring_logic_id", "resolved_at", "total_hosts", "bookmark_id",
            "job_id", "script", "runtime", "environment",
            "retry_count", "retry_delay", "queue_offline", "offline_ttl", "script_sha512",
            "job_definition_id", "priority", "segments",
        )
    }
    clone = JobInvocation(
        task_id=str(uuid.uuid4()), iteration=iteration, start_at=start_at, state="scheduled",
        **copied,
    )
    clone.inputs = [
        JobInvocationInput(template_input_id=i.template_input_id, name=i.name, value=i.value,
                           hidden=i.hidden)
        for i in job.inputs
    ]
    return clone


async def _copy_static_hosts(session: AsyncSession, *, source: JobInvocation, target: JobInvocation) -> None:
    if source.targeting_type != "static_query":
        target.resolved_at = None
        return
    runs = (
        await session.scalars(
            select(HostRun).where(HostRun.job_invocation_id == source.id).order_by(HostRun.position)
        )
    ).all()
    session.add_all(
        HostRun(job_invocation_id=target.id, host_id=r.host_id, host_name=r.host_name,
                position=r.position, task_id=str(uuid.uuid4()))
        for r in runs
    )


async def find_logic(session: AsyncSession, ref: str | int) -> RecurringLogic:
    """Return the recurring logic with id `ref`, or raise NotFound."""
    text = str(ref)
    logic = await session.get(RecurringLogic, as_id(text)) if as_id(text) is not None else None
    if logic is None:
        raise NotFound(f"Resource recurring_logic not found by id '{text}'")
    return logic


async def _pending_job(session: AsyncSession, logic: RecurringLogic) -> JobInvocation | None:
    return await session.scalar(
        select(JobInvocation).where(
            JobInvocation.recurring_logic_id == logic.id, JobInvocation.state == "scheduled"
        )
    )


async def cancel_logic(session: AsyncSession, *, logic: RecurringLogic, by: str, now: datetime) -> None:
    """Stop a recurrence for good; its waiting job is cancelled."""
    from rex.jobs import cancel_job

    if logic.state not in LIVE_STATES:
        raise Conflict(f"The recurring logic is {logic.state} and cannot be cancelled")
    pending = await _pending_job(session, logic)
    if pending is not None:
        await cancel_job(session, job=pending, by=by, force=False, now=now)
    logic.state, logic.next_occurrence = "cancelled", None
    await session.flush()


async def set_enabled(session: AsyncSession, *, logic: RecurringLogic, enabled: bool, now: datetime) -> None:
    """Pause (disabled) or resume (active) a recurrence; a resumed one fires at its next time."""
    if logic.state not in LIVE_STATES:
        raise Conflict(f"The recurring logic is {logic.state} and cannot be changed")
    logic.state = "active" if enabled else "disabled"
    pending = await _pending_job(session, logic)
    if enabled and pending is not None and pending.start_at < now:
        following = next_run(logic.cron_line, now)
        pending.start_at = logic.next_occurrence = following
    await session.flush()


async def task_count(session: AsyncSession, logic: RecurringLogic) -> int:
    """Count the jobs this recurrence has created."""
    return await session.scalar(
        select(func.count()).where(JobInvocation.recurring_logic_id == logic.id)
    ) or 0
