"""A job's life after creation: finishing, cancelling, rerunning."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rex.errors import Conflict
from rex.models import HostRun, JobInvocation
from rex.outputs import append_debug
from rex.webhooks import execution_events, job_event

__all__ = ["FAILED_RESULTS", "RerunWithoutTemplate", "cancel_job", "cancel_runs", "finish_job_if_done", "rerun_job"]

FAILED_RESULTS = ("error", "warning", "cancelled")


async def end_run(
    session: AsyncSession, run: HostRun, *, result: str, kind: str, message: str, now: datetime
) -> None:
    """End a host run that rex stops itself (cancel, sweeps), with one debug line saying why."""
    run.state, run.result, run.error_kind, run.finished_at = "finished", result, kind, now
    run.lease_until = None
    await append_debug(session, run, message)
    await session.flush()
    await execution_events(session, [run.id], now=now)


async def finish_job_if_done(session: AsyncSession, *, job_id: int, now: datetime) -> bool:
    """Stop the job when none of its hosts is queued or running; return whether it stopped."""
    open_runs = await session.scalar(
        select(func.count()).where(HostRun.job_invocation_id == job_id, HostRun.state != "finished")
    )
    if open_runs:
        return False
    job = await session.get(JobInvocation, job_id)
    if job is None or job.state == "stopped":
        return False
    failures = await session.scalar(
        select(func.count()).where(
            HostRun.job_invocation_id == job_id, HostRun.result != "success"
        )
    )
    job.state = "stopped"
    job.result = "warning" if failures else "success"
    job.ended_at = now
    job.started_at = job.started_at or now
    await session.flush()
    await job_event(session, job, now=now)
    return True


async def cancel_job(
    session: AsyncSession, *, job: JobInvocation, by: str, force: bool, now: datetime
) -> None:
    """Cancel a job: queued hosts never start, running hosts are killed by their worker."""
    if job.state == "stopped":
        raise Conflict("The job could not be cancelled.", bare=True)
    job.cancel_requested_by = by
    job.cancel_force = job.cancel_force or force
    if job.state in ("scheduled", "planned"):
        await _cancel_queued(session, job=job, by=by, now=now)
        job.state, job.result = "stopped", "cancelled"
        job.ended_at = now
        await session.flush()
        await job_event(session, job, now=now)
        return
    await _cancel_queued(session, job=job, by=by, now=now)
    await session.execute(
        update(HostRun)
        .where(HostRun.job_invocation_id == job.id, HostRun.state == "running")
        .values(cancel_requested=True)
    )
    await session.flush()
    await finish_job_if_done(session, job_id=job.id, now=now)


async def cancel_runs(
    session: AsyncSession, *, job: JobInvocation, runs: list[HostRun], by: str, force: bool,
    now: datetime,
) -> tuple[list[str], list[str]]:
    """Cancel some hosts of a job; return the task ids cancelled and skipped."""
    cancelled, skipped = [], []
    for run in runs:
        if run.state == "finished":
            skipped.append(run.task_id)
            continue
        cancelled.append(run.task_id)
        if run.state == "queued":
            await end_run(session, run, result="cancelled", kind="cancel",
                          message=f"Job cancelled by {by}", now=now)
        else:
            run.cancel_requested = True
    job.cancel_requested_by = by
    job.cancel_force = job.cancel_force or force
    await session.flush()
    await finish_job_if_done(session, job_id=job.id, now=now)
    return cancelled, skipped


async def _cancel_queued(session: AsyncSession, *, job: JobInvocation, by: str, now: datetime) -> None:
    runs = (
        await session.scalars(
            select(HostRun).where(HostRun.job_invocation_id == job.id, HostRun.state == "queued")
        )
    ).all()
    for run in runs:
        await end_run(session, run, result="cancelled", kind="cancel",
                      message=f"Job cancelled by {by}", now=now)
    await session.flush()


async def rerun_job(
    session: AsyncSession,
    *,
    job: JobInvocation,
    user_id: int,
    failed_only: bool,
    succeeded_only: bool,
    now: datetime,
) -> JobInvocation:
    """Create and start a new job like `job`, on all, only failed or only succeeded hosts."""
    from rex.invocations import plan_hosts
    from rex.models import JobInvocationInput, JobTemplate
    from rex.targeting import names_query

    if job.script is None and (
            job.template_id is None or await session.get(JobTemplate, job.template_id) is None):
        raise RerunWithoutTemplate(job.id)
    runs = (
        await session.execute(
            select(HostRun.host_name, HostRun.result, HostRun.state)
            .where(HostRun.job_invocation_id == job.id)
            .order_by(HostRun.position)
        )
    ).all()
    if failed_only:
        names = [n for n, result, state in runs if _counts_as_failed(result, state, job.state)]
    elif succeeded_only:
        names = [n for n, result, _ in runs if result == "success"]
    else:
        names = [n for n, _, _ in runs]
    dynamic = job.targeting_type == "dynamic_query" and not (failed_only or succeeded_only)
    new = JobInvocation(
        task_id=str(uuid.uuid4()),
        **{column: getattr(job, column) for column in _COPIED},
        user_id=user_id,
        search_query=job.search_query if dynamic else names_query(names),
        start_at=now,
        state="planned",
    )
    new.inputs = [
        JobInvocationInput(template_input_id=i.template_input_id, name=i.name, value=i.value,
                           hidden=i.hidden)
        for i in job.inputs
    ]
    session.add(new)
    await session.flush()
    await plan_hosts(session, job=new, now=now, start=True)
    return new


_COPIED = (
    "description", "description_format", "job_category", "template_id", "template_name",
    "feature", "targeting_type", "randomized_ordering", "ssh_user", "effective_user",
    "password", "key_passphrase", "effective_user_password", "concurrency_level",
    "execution_timeout_interval", "time_to_pickup", "bookmark_id", "job_id", "script", "runtime",
    "environment", "retry_count", "retry_delay", "queue_offline", "offline_ttl", "script_sha512",
    "job_definition_id", "priority", "segments",
)


def _counts_as_failed(result: str, state: str, job_state: str) -> bool:
    if result in FAILED_RESULTS:
        return True
    return job_state == "stopped" and result != "success"


class RerunWithoutTemplate(Conflict):
    """The job's template is gone, so it cannot be rerun (404 in Foreman)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"Could not rerun job {job_id} because its template could not be found")
        self.job_id = job_id
