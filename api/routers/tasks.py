"""/foreman_tasks/api/tasks: the job's task and its hosts' tasks, for clients that wait on tasks.

A job's task ends `success` only when every host succeeded and `warning` when some failed,
so `wait_for_task` (Ansible) fails as it does against Foreman.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import PagingDep, ReaderDep
from api.permissions import Allowed
from api.render import envelope
from api.views import render_task, task_state
from rex.errors import BadRequest, NotFound
from rex.invocations import host_counts
from rex.models import HostRun, JobInvocation, User
from rex.paging import fetch_page
from rex.task_search import JOB_TASK_ACTION, JOB_TASK_LABEL, task_filter

router = APIRouter(tags=["foreman_tasks"])

ORDERABLE = {"id": JobInvocation.id, "started_at": JobInvocation.started_at,
             "ended_at": JobInvocation.ended_at, "state": JobInvocation.state,
             "result": JobInvocation.result}


def _job_task(job: JobInvocation, counts: dict[str, int], username: str | None) -> dict:
    done = sum(n for result, n in counts.items() if result != "pending")
    total = job.total_hosts
    progress = 1.0 if job.state == "stopped" else (done / total if total else 0.0)
    failed = counts.get("error", 0) + counts.get("warning", 0)
    errors = [f"{failed} of {total} hosts failed"] if failed else []
    if job.message and job.result != "success":
        errors.append(job.message)
    return render_task(
        task_id=job.task_id, label=JOB_TASK_LABEL, state=job.state, result=job.result,
        progress=round(progress, 4), started_at=job.started_at, ended_at=job.ended_at,
        action=f"{JOB_TASK_ACTION}: {job.description}", username=username, errors=errors,
        task_input={"job_invocation": {"id": job.id, "name": job.job_category,
                                       "description": job.description},
                    "job_category": job.job_category, "current_user_id": job.user_id},
        task_output={"total_count": total, "success_count": counts.get("success", 0),
                     "failed_count": failed, "cancelled_count": counts.get("cancelled", 0),
                     "pending_count": counts.get("pending", 0)},
        humanized_input=[["job_invocation", {"text": f"job invocation {job.id}",
                                             "link": f"/job_invocations/{job.id}"}]],
    )


async def _host_task(session, run: HostRun) -> dict:
    job = await session.get(JobInvocation, run.job_invocation_id)
    state = task_state(run)
    failed = state == "stopped" and run.result != "success"
    return render_task(
        task_id=run.task_id, label="Actions::RemoteExecution::RunHostJob", state=state,
        result=run.result, progress=1.0 if state == "stopped" else 0.0,
        started_at=run.started_at, ended_at=run.finished_at,
        action=f"Remote action: {job.description} on {run.host_name}",
        parent_task_id=job.task_id,
        errors=[f"Host {run.host_name}: {run.error_kind or 'exit status'} "
                f"{'' if run.exit_status is None else run.exit_status}".strip()] if failed else [],
        task_input={"host": {"id": run.host_id, "name": run.host_name},
                    "job_invocation_id": job.id},
        task_output={"exit_status": run.exit_status},
    )


async def _usernames(session, jobs: list[JobInvocation]) -> dict[int, str]:
    ids = {job.user_id for job in jobs if job.user_id is not None}
    if not ids:
        return {}
    return dict((await session.execute(select(User.id, User.login).where(User.id.in_(ids)))).all())


@router.get("/tasks/{id}", summary="Show a task")
async def show(id: str, session: ReaderDep, user: Allowed("view_foreman_tasks")) -> dict:
    job = await session.scalar(select(JobInvocation).where(JobInvocation.task_id == id))
    if job is not None:
        counts = (await host_counts(session, [job.id]))[job.id]
        return _job_task(job, counts, (await _usernames(session, [job])).get(job.user_id))
    run = await session.scalar(select(HostRun).where(HostRun.task_id == id))
    if run is not None:
        return await _host_task(session, run)
    raise NotFound(f"Resource task not found by id '{id}'")


@router.get("/tasks", summary="List tasks")
async def index(session: ReaderDep, user: Allowed("view_foreman_tasks"), paging: PagingDep) -> dict:
    where = task_filter(paging.search) if (paging.search or "").strip() else None
    field, direction = paging.sort()
    order = [JobInvocation.id.desc()]
    if field:
        if field not in ORDERABLE:
            raise BadRequest(f"Unknown order field '{field}': use one of {', '.join(ORDERABLE)}")
        column = ORDERABLE[field]
        order = [column.desc() if direction == "DESC" else column.asc(), JobInvocation.id.desc()]
    page = await fetch_page(session, base=select(JobInvocation), request=paging, where=where,
                            order_by=order)
    counts = await host_counts(session, [job.id for job in page.rows])
    names = await _usernames(session, page.rows)
    rows = [_job_task(job, counts[job.id], names.get(job.user_id)) for job in page.rows]
    return envelope(page, paging, lambda row: row, rows=rows)
