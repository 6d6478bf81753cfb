"""Sweeps every rex process runs: start due jobs, expire pickups and windows, recover lost leases."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from rex.config import Settings
from rex.invocations import plan_hosts
from rex.jobs import end_run, finish_job_if_done
from rex.models import HostRun, JobInvocation, RecurringLogic
from rex.recurring import schedule_next

__all__ = ["expire_pickups", "recover_lost_runs", "start_due_jobs", "sweep"]

log = logging.getLogger("rex.sweeps")


async def start_due_jobs(session: AsyncSession, *, now: datetime) -> int:
    """Move scheduled jobs whose start_at has come to planned (or failed past start_before)."""
    jobs = (
        await session.scalars(
            select(JobInvocation)
            .outerjoin(RecurringLogic, RecurringLogic.id == JobInvocation.recurring_logic_id)
            .where(JobInvocation.state == "scheduled", JobInvocation.start_at <= now)
            .where(or_(RecurringLogic.id.is_(None), RecurringLogic.state != "disabled"))
            .options(selectinload(JobInvocation.inputs))
            .with_for_update(skip_locked=True, of=JobInvocation)
        )
    ).all()
    for job in jobs:
        if job.recurring_logic_id is not None:
            await schedule_next(session, job=job, now=now)
        if job.start_before is not None and now > job.start_before:
            await _missed_window(session, job, now)
            continue
        if job.resolved_at is None or job.targeting_type == "dynamic_query":
            await _drop_unstarted_runs(session, job)
            await plan_hosts(session, job=job, now=now, start=True)
        else:
            await _requeue(session, job, now)
        if job.state == "scheduled":
            job.state = "planned"
    await session.flush()
    return len(jobs)


async def _drop_unstarted_runs(session: AsyncSession, job: JobInvocation) -> None:
    for run in (await session.scalars(select(HostRun).where(HostRun.job_invocation_id == job.id))):
        await session.delete(run)
    await session.flush()


async def _requeue(session: AsyncSession, job: JobInvocation, now: datetime) -> None:
    runs = (await session.scalars(select(HostRun).where(HostRun.job_invocation_id == job.id))).all()
    for run in runs:
        run.queued_at = now
    if not runs:
        job.state, job.result, job.started_at, job.ended_at = "stopped", "success", now, now


async def _missed_window(session: AsyncSession, job: JobInvocation, now: datetime) -> None:
    message = (
        "Execution plan could not be started before set time "
        f"({job.start_before:%Y-%m-%d %H:%M:%S} UTC)"
    )
    runs = (await session.scalars(select(HostRun).where(HostRun.job_invocation_id == job.id))).all()
    for run in runs:
        await end_run(session, run, result="error", kind="window", message=message, now=now)
    job.state, job.result, job.ended_at = "stopped", "error", now
    log.warning("job %s: %s", job.id, message)


async def expire_pickups(session: AsyncSession, *, now: datetime, settings: Settings) -> int:
    """Fail queued host runs that no worker started within time_to_pickup."""
    jobs = (
        await session.execute(
            select(JobInvocation.id, JobInvocation.time_to_pickup)
            .where(JobInvocation.state.in_(("planned", "running")))
        )
    ).all()
    expired = 0
    for job_id, limit in jobs:
        cutoff = now - timedelta(seconds=limit or settings.time_to_pickup)
        runs = (
            await session.scalars(
                select(HostRun)
                .where(HostRun.job_invocation_id == job_id, HostRun.state == "queued",
                       HostRun.queued_at < cutoff)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for run in runs:
            await end_run(session, run, result="error", kind="pickup",
                          message="The job was not picked up in time", now=now)
        if runs:
            expired += len(runs)
            await session.flush()
            await finish_job_if_done(session, job_id=job_id, now=now)
    return expired


async def recover_lost_runs(session: AsyncSession, *, now: datetime) -> int:
    """Fail running host runs whose worker's lease expired; never run them again."""
    runs = (
        await session.scalars(
            select(HostRun)
            .where(HostRun.state == "running", HostRun.lease_until < now)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for run in runs:
        await end_run(
            session, run, result="error", kind="lost", now=now,
            message=f"Worker {run.worker} was lost while running this host; "
            "the script may or may not have finished",
        )
    await session.flush()
    for job_id in {run.job_invocation_id for run in runs}:
        await finish_job_if_done(session, job_id=job_id, now=now)
    return len(runs)


async def sweep(db, *, settings: Settings, now: datetime) -> dict[str, int]:
    """Run every sweep once, each in its own transaction."""
    counts = {}
    async with db.unit_of_work() as session:
        counts["started"] = await start_due_jobs(session, now=now)
    async with db.unit_of_work() as session:
        counts["expired"] = await expire_pickups(session, now=now, settings=settings)
    async with db.unit_of_work() as session:
        counts["lost"] = await recover_lost_runs(session, now=now)
    return counts
