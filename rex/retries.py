"""Retries: a host that failed by a non-zero exit, a timeout or being unreachable runs again.

When a host run ends and its job allows another attempt, the attempt that just ended is
moved to a row of its own (with its output, `job_invocation_id` NULL, `attempt_of_id` the
host's run) and the host's run is queued again with `not_before` = now + retry_delay *
2^(attempt-1). So every view of the job keeps one run per host, showing its latest attempt,
and the job's result counts hosts, not attempts. Never retried: a cancel, a lost worker, and
failures that another try cannot fix (authentication, host key, rendering, integrity...).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rex.models import HostRun, JobInvocation, OutputEvent
from rex.outputs import append_debug

__all__ = ["RETRYABLE_KINDS", "retry_failed_runs"]

# error kinds another attempt may fix; None is a script that exited non-zero
RETRYABLE_KINDS = ("timeout", "unreachable")
_COPIED = ("host_id", "host_name", "position", "state", "result", "exit_status", "error_kind",
           "effective_user", "worker", "queued_at", "started_at", "finished_at", "next_seq",
           "attempt", "offline_since", "script_sha512")


def _reason(run: HostRun) -> str:
    if run.error_kind is None:
        return f"exit status {run.exit_status}"
    return run.error_kind


async def retry_failed_runs(session: AsyncSession, run_ids: list[int], *, now: datetime,
                            offline_retry: float) -> list[int]:
    """Decide what happens to each failed run in `run_ids`; return those queued again.

    Unreachable: with queue_offline the host waits and is tried every `offline_retry`
    seconds until offline_ttl runs out (not an attempt); without it a scheduled firing skips
    the host. Otherwise a retryable failure runs again while attempts are left.
    """
    rows = (await session.execute(
        select(HostRun, JobInvocation)
        .join(JobInvocation, JobInvocation.id == HostRun.job_invocation_id)
        .where(HostRun.id.in_(run_ids), HostRun.result == "error",
               JobInvocation.cancel_requested_by.is_(None),
               or_(HostRun.error_kind.is_(None), HostRun.error_kind.in_(RETRYABLE_KINDS)))
    )).all()
    queued = []
    for run, job in rows:
        if run.error_kind == "unreachable" and job.queue_offline:
            if await _wait_offline(session, run, job, now=now, every=offline_retry):
                queued.append(run.id)
        elif run.error_kind == "unreachable" and job.recurring_logic_id is not None:
            run.result = "skipped"
            await append_debug(session, run, "Host unreachable during a scheduled run: skipped "
                               "(set queue_offline to wait for it)")
        elif run.attempt <= job.retry_count:
            await _retry(session, run, job, now=now)
            queued.append(run.id)
    await session.flush()
    return queued


async def _wait_offline(session: AsyncSession, run: HostRun, job: JobInvocation, *,
                        now: datetime, every: float) -> bool:
    """Queue an offline host again unless offline_ttl ran out (then it fails saying so)."""
    since = run.offline_since or run.started_at or now
    deadline = since + timedelta(seconds=job.offline_ttl)
    if now >= deadline:
        await append_debug(session, run, f"Host stayed offline for {job.offline_ttl} s "
                           "(offline_ttl); giving up")
        run.error_kind = "offline"
        return False
    wait = min(every, (deadline - now).total_seconds())
    await append_debug(session, run, f"Host offline; trying again in {wait:g} s (until "
                       f"{deadline:%Y-%m-%d %H:%M:%S} UTC)")
    await session.flush()
    last = await session.scalar(select(func.max(OutputEvent.seq))
                                .where(OutputEvent.host_run_id == run.id))
    run.offline_since = since
    run.state, run.result, run.exit_status, run.error_kind = "queued", "pending", None, None
    run.worker = run.lease_until = run.finished_at = None
    run.next_seq = (last or 0) + 1  # the next try's output follows this one's
    run.queued_at = run.not_before = now + timedelta(seconds=wait)
    return True


async def _retry(session: AsyncSession, run: HostRun, job: JobInvocation, *, now: datetime) -> None:
    """Keep the attempt that ended in a row of its own and queue the next one."""
    earlier = HostRun(job_invocation_id=None, attempt_of_id=run.id, task_id=str(uuid.uuid4()),
                      **{column: getattr(run, column) for column in _COPIED})
    session.add(earlier)
    await session.flush()
    await session.execute(update(OutputEvent).where(OutputEvent.host_run_id == run.id)
                          .values(host_run_id=earlier.id))
    delay = job.retry_delay * 2 ** (run.attempt - 1)
    await append_debug(session, earlier, (
        f"Attempt {run.attempt} of {job.retry_count + 1} failed ({_reason(run)}); "
        f"attempt {run.attempt + 1} in {delay} s"))
    run.attempt += 1
    run.state, run.result, run.exit_status, run.error_kind = "queued", "pending", None, None
    run.worker = run.lease_until = run.started_at = run.finished_at = run.offline_since = None
    run.next_seq = 0
    run.queued_at = run.not_before = now + timedelta(seconds=delay)
