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

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rex.models import HostRun, JobInvocation, OutputEvent
from rex.outputs import append_debug

__all__ = ["RETRYABLE_KINDS", "retry_failed_runs"]

# error kinds another attempt may fix; None is a script that exited non-zero
RETRYABLE_KINDS = ("timeout", "unreachable")
_COPIED = ("host_id", "host_name", "position", "state", "result", "exit_status", "error_kind",
           "effective_user", "worker", "queued_at", "started_at", "finished_at", "next_seq",
           "attempt")


def _reason(run: HostRun) -> str:
    if run.error_kind is None:
        return f"exit status {run.exit_status}"
    return run.error_kind


async def retry_failed_runs(session: AsyncSession, run_ids: list[int], *, now: datetime) -> list[int]:
    """Queue another attempt of each run in `run_ids` that failed and may retry; return them."""
    rows = (await session.execute(
        select(HostRun, JobInvocation.retry_count, JobInvocation.retry_delay)
        .join(JobInvocation, JobInvocation.id == HostRun.job_invocation_id)
        .where(HostRun.id.in_(run_ids), HostRun.result == "error",
               HostRun.attempt <= JobInvocation.retry_count,
               JobInvocation.cancel_requested_by.is_(None),
               or_(HostRun.error_kind.is_(None), HostRun.error_kind.in_(RETRYABLE_KINDS)))
    )).all()
    retried = []
    for run, retry_count, retry_delay in rows:
        earlier = HostRun(job_invocation_id=None, attempt_of_id=run.id, task_id=str(uuid.uuid4()),
                          **{column: getattr(run, column) for column in _COPIED})
        session.add(earlier)
        await session.flush()
        await session.execute(update(OutputEvent).where(OutputEvent.host_run_id == run.id)
                              .values(host_run_id=earlier.id))
        delay = retry_delay * 2 ** (run.attempt - 1)
        await append_debug(session, earlier, (
            f"Attempt {run.attempt} of {retry_count + 1} failed ({_reason(run)}); "
            f"attempt {run.attempt + 1} in {delay} s"))
        run.attempt += 1
        run.state, run.result, run.exit_status, run.error_kind = "queued", "pending", None, None
        run.worker = run.lease_until = run.started_at = run.finished_at = None
        run.next_seq = 0
        run.queued_at = run.not_before = now + timedelta(seconds=delay)
        retried.append(run.id)
    await session.flush()
    return retried
