"""/foreman_tasks/api/tasks: the job's task and its hosts' tasks, for clients that wait on tasks."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, select

from api.deps import PagingDep, ReaderDep
from api.permissions import Allowed
from api.render import envelope
from api.views import render_task, task_state
from rex.errors import NotFound
from rex.models import HostRun, JobInvocation, User
from rex.paging import fetch_page

router = APIRouter(tags=["foreman_tasks"])


async def _job_task(session, job: JobInvocation) -> dict:
    total = job.total_hosts
    done = await session.scalar(
        select(func.count()).where(HostRun.job_invocation_id == job.id, HostRun.state == "finished")
    )
    progress = 1.0 if job.state == "stopped" else (done / total if total else 0.0)
    username = await session.scalar(select(User.login).where(User.id == job.user_id))
    return render_task(
        task_id=job.task_id, label="Actions::RemoteExecution::RunHostsJob", state=job.state,
        result=job.result, progress=round(progress, 4), started_at=job.started_at,
        ended_at=job.ended_at, action=f"Run hosts job: {job.description}", username=username,
    )


async def _host_task(session, run: HostRun) -> dict:
    job = await session.get(JobInvocation, run.job_invocation_id)
    state = task_state(run)
    return render_task(
        task_id=run.task_id, label="Actions::RemoteExecution::RunHostJob", state=state,
        result=run.result, progress=1.0 if state == "stopped" else 0.0,
        started_at=run.started_at, ended_at=run.finished_at,
        action=f"Remote action: {job.description} on {run.host_name}",
        parent_task_id=job.task_id,
    )


@router.get("/tasks/{id}", summary="Show a task")
async def show(id: str, session: ReaderDep, user: Allowed("view_foreman_tasks")) -> dict:
    job = await session.scalar(select(JobInvocation).where(JobInvocation.task_id == id))
    if job is not None:
        return await _job_task(session, job)
    run = await session.scalar(select(HostRun).where(HostRun.task_id == id))
    if run is not None:
        return await _host_task(session, run)
    raise NotFound(f"Resource task not found by id '{id}'")


@router.get("/tasks", summary="List tasks")
async def index(session: ReaderDep, user: Allowed("view_foreman_tasks"), paging: PagingDep) -> dict:
    page = await fetch_page(session, base=select(JobInvocation), request=paging,
                            order_by=[JobInvocation.id.desc()])
    rows = [await _job_task(session, job) for job in page.rows]
    return envelope(page, paging, lambda row: row, rows=rows)
