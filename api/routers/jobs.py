"""/api/jobs: rex's plain jobs API (a script, a runtime, targets), on top of job invocations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, status
from fastapi.responses import JSONResponse
from sqlalchemy import select

from api.deps import PagingDep, ReaderDep, RuntimeDep, SessionDep
from api.permissions import Allowed
from api.render import envelope, with_timestamps
from api.schemas import PlainJobIn
from rex import audits, plain_jobs
from rex.models import HostRun, Job
from rex.paging import fetch_page, ordering
from search import FieldRegistry, IntegerField, TextField, compile_query

router = APIRouter(tags=["jobs"])

JOB_FIELDS = FieldRegistry({
    "name": TextField(column=Job.name),
    "runtime": TextField(column=Job.runtime),
    "id": IntegerField(column=Job.id),
    "user_id": IntegerField(column=Job.user_id),
})  # fmt: skip
EXECUTION_FIELDS = FieldRegistry({
    "name": TextField(column=HostRun.host_name),
    "host": TextField(column=HostRun.host_name, default=False),
    "invocation_id": IntegerField(column=HostRun.job_invocation_id),
    "host_id": IntegerField(column=HostRun.host_id),
})  # fmt: skip
JOB_BASE = select(Job)


@router.get("/jobs", summary="List plain jobs")
async def index(session: ReaderDep, user: Allowed("view_job_invocations"),
                paging: PagingDep) -> dict:
    where = compile_query(paging.search, JOB_FIELDS) if paging.search else None
    order = ordering(paging, {"id": Job.id, "name": Job.name}, [Job.id.desc()], Job.id)
    page = await fetch_page(session, base=JOB_BASE, request=paging, where=where, order_by=order)
    rows = [with_timestamps(await plain_jobs.job_view(session, job)) for job in page.rows]
    return envelope(page, paging, lambda row: row, rows=rows)


@router.get("/jobs/{id}", summary="Show a plain job")
async def show(id: str, session: ReaderDep, user: Allowed("view_job_invocations")) -> dict:
    return with_timestamps(await plain_jobs.job_view(session, await plain_jobs.find_job(session, id)))


@router.post("/jobs", status_code=status.HTTP_201_CREATED, summary="Create a plain job",
             responses={200: {"description": "Dry run: what would run on each host"}})
async def create(body: PlainJobIn, session: SessionDep, runtime: RuntimeDep,
                 user: Allowed("create_job_invocations"), later: BackgroundTasks) -> Any:
    spec = plain_jobs.parse_job(body.model_dump(exclude_unset=True))
    now = runtime.clock()
    if spec.dry_run:
        hosts = await plain_jobs.plain_dry_run(session, runtime, user=user.user, spec=spec, now=now)
        return JSONResponse({"hosts": hosts}, status_code=200)
    job, invocation = await plain_jobs.create_plain_job(session, runtime, user=user.user,
                                                        spec=spec, now=now)
    await audits.record_job(session, action="create", job=invocation, plain_job_id=job.id)
    later.add_task(runtime.notify_work)
    return with_timestamps(await plain_jobs.job_view(session, job))


@router.get("/jobs/{id}/executions", summary="List a plain job's executions")
async def executions(id: str, session: ReaderDep, user: Allowed("view_job_invocations"),
                     paging: PagingDep) -> dict:
    job = await plain_jobs.find_job(session, id)
    where = compile_query(paging.search, EXECUTION_FIELDS) if paging.search else None
    order = ordering(paging, {"id": HostRun.id, "name": HostRun.host_name},
                     list(plain_jobs.EXECUTION_ORDER), HostRun.id)
    page = await fetch_page(session, base=plain_jobs.executions_query(job), request=paging,
                            where=where, order_by=order)
    rows = [with_timestamps(r) for r in await plain_jobs.execution_rows(session, job, page.rows)]
    if not user.grants.allows("edit_job_templates"):  # the digest is for those who edit scripts
        for row in rows:
            row.pop("script_sha512")
    return envelope(page, paging, lambda row: row, rows=rows)


@router.post("/jobs/{id}/cancel", summary="Cancel a plain job and its recurrence")
async def cancel(id: str, session: SessionDep, runtime: RuntimeDep,
                 user: Allowed("cancel_job_invocations"), later: BackgroundTasks) -> dict:
    job = await plain_jobs.find_job(session, id)
    await plain_jobs.cancel_plain_job(session, job=job, by=user.user.login, now=runtime.clock())
    await audits.record(session, action="cancel", type_name="Job", auditable_id=job.id,
                        name=job.name, changes={})
    later.add_task(runtime.notify_work)
    return with_timestamps(await plain_jobs.job_view(session, job))


@router.delete("/jobs/{id}", summary="Delete a plain job and its execution history")
async def destroy(id: str, session: SessionDep, user: Allowed("cancel_job_invocations")) -> dict:
    job = await plain_jobs.find_job(session, id)
    body = with_timestamps(await plain_jobs.job_view(session, job))
    await plain_jobs.delete_plain_job(session, job=job)
    await audits.record(session, action="destroy", type_name="Job", auditable_id=job.id,
                        name=job.name, changes={"invocation_ids": body["invocation_ids"]})
    return body

