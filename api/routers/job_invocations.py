"""/api/job_invocations: create, list, show, cancel, rerun."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, status
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from api.deps import PagingDep, ReaderDep, RuntimeDep, SessionDep
from api.permissions import Allowed
from api.render import envelope, timestamp
from api.routers.recurring_logics import render_logic
from api.schemas import CancelIn, JobInvocationBody, JobInvocationIn, RerunIn
from api.views import host_job_status, input_values, render_job
from rex import audits, invocations, jobs
from rex.errors import NotFound, ValidationFailed
from rex.models import Bookmark, Host, HostRun, JobInvocation, RecurringLogic
from rex.paging import fetch_page
from rex.plain_jobs import dry_run
from rex.times import parse_time

router = APIRouter(tags=["job_invocations"])

BoolQuery = Annotated[bool | None, Query()]


async def job_body(session, runtime, job: JobInvocation, *, include_hosts: bool,
                   host_status: bool, pattern: bool = True) -> dict:
    """Render the show shape of a job (`show.json.rabl`)."""
    counts = (await invocations.host_counts(session, [job.id]))[job.id]
    present = await session.scalar(
        select(func.count()).where(HostRun.job_invocation_id == job.id, HostRun.host_id.is_not(None))
    )
    body = render_job(job, counts=counts, present=present or 0,
                      default_effective_user=runtime.settings.effective_user)
    body.update(await _mode(session, job))
    targeting = {
        "bookmark_id": job.bookmark_id,
        "bookmark_name": await _bookmark_name(session, job),
        "search_query": job.search_query,
        "targeting_type": job.targeting_type,
        "user_id": job.user_id,
        "randomized_ordering": job.randomized_ordering,
    }
    pattern_invocation = {
        "template_id": job.template_id,
        "template_name": job.template_name,
        "host_id": None,
        "input_values": input_values(job),
    }
    if include_hosts:
        runs = (
            await session.scalars(
                select(HostRun).where(HostRun.job_invocation_id == job.id).order_by(HostRun.position)
            )
        ).all()
        targeting["hosts"] = [_host_entry(run, job, host_status) for run in runs if run.host_id]
        body["template_invocations"] = [
            {**pattern_invocation, "host_id": run.host_id} for run in runs if run.host_id
        ]
    body["targeting"] = targeting
    body["task"] = {
        "id": job.task_id,
        "state": job.state,
        "started_at": timestamp(job.started_at),
        "cancellable": job.state != "stopped",
    }
    body["pattern_template_invocations"] = [pattern_invocation] if pattern else None
    if job.job_definition_id is not None:  # rex's own: started from REX_JOBS_DIR
        body["job_definition_id"] = job.job_definition_id
    body["job_organization"] = None
    body["job_location"] = None
    return body


async def _bookmark_name(session, job: JobInvocation) -> str | None:
    if job.bookmark_id is None:
        return None
    return await session.scalar(select(Bookmark.name).where(Bookmark.id == job.bookmark_id))


def _host_entry(run: HostRun, job: JobInvocation, host_status: bool) -> dict:
    entry = {"name": run.host_name, "id": run.host_id, "display_name": run.host_name}
    if host_status:
        entry["job_status"] = host_job_status(run, job)
    return entry


async def _mode(session, job: JobInvocation) -> dict:
    if job.recurring_logic_id is not None:
        logic = await session.get(RecurringLogic, job.recurring_logic_id)
        if logic is not None:
            return {"mode": "recurring", "recurrence": await render_logic(session, logic)}
    if job.start_at and job.state == "scheduled" or job.start_before:
        return {
            "mode": "future",
            "scheduling": {
                "start_at": timestamp(job.start_at),
                "start_before": timestamp(job.start_before),
            },
        }
    return {"mode": "immediate"}


def to_request(body: JobInvocationIn, now) -> invocations.InvocationRequest:
    """Translate the API body into the domain's request."""
    host_ids, search_query = body.host_ids, body.search_query
    if isinstance(host_ids, str):
        search_query, host_ids = search_query or host_ids, None
    start_at = parse_time("start_at", body.scheduling.start_at if body.scheduling else None)
    start_before = parse_time(
        "start_before", body.scheduling.start_before if body.scheduling else None
    )
    _check_window(start_at, start_before, now)
    ssh = body.ssh
    return invocations.InvocationRequest(
        job_template_id=body.job_template_id,
        feature=body.feature,
        targeting_type=body.targeting_type,
        search_query=search_query,
        host_ids=host_ids,
        bookmark_id=body.bookmark_id,
        randomized_ordering=body.randomized_ordering,
        inputs=body.inputs,
        effective_user=ssh.effective_user if ssh else None,
        effective_user_password=ssh.effective_user_password if ssh else None,
        ssh_user=body.ssh_user,
        password=body.password,
        key_passphrase=body.key_passphrase,
        concurrency_level=body.concurrency_control.concurrency_level
        if body.concurrency_control
        else None,
        execution_timeout_interval=body.execution_timeout_interval,
        time_to_pickup=body.time_to_pickup,
        description_format=body.description_format,
        start_at=start_at,
        start_before=start_before,
        **_recurrence(body),
    )


def _recurrence(body: JobInvocationIn) -> dict:
    rec = body.recurrence
    if rec is None or rec.cron_line is None:
        return {}
    return {
        "cron_line": rec.cron_line,
        "max_iteration": rec.max_iteration,
        "end_time": parse_time("end_time", rec.end_time),
        "purpose": rec.purpose,
    }


def _check_window(start_at, start_before, now) -> None:
    from datetime import timedelta

    if start_at is not None and start_at < now - timedelta(minutes=1):
        raise ValidationFailed.field("start_at", "is in the past")
    if start_at is not None and start_before is not None and start_before < start_at:
        raise ValidationFailed.field("start_before", "must not be earlier than start_at")


@router.get("/job_invocations", summary="List job invocations")
async def index(session: ReaderDep, runtime: RuntimeDep, user: Allowed("view_job_invocations"),
                paging: PagingDep) -> dict:
    from api.search import job_search

    page = await fetch_page(
        session, base=select(JobInvocation), request=paging,
        where=job_search(paging.search), order_by=[JobInvocation.id.desc()],
    )
    ids = [job.id for job in page.rows]
    counts = await invocations.host_counts(session, ids)
    present = dict(
        (
            await session.execute(
                select(HostRun.job_invocation_id, func.count())
                .where(HostRun.job_invocation_id.in_(ids), HostRun.host_id.is_not(None))
                .group_by(HostRun.job_invocation_id)
            )
        ).all()
    )
    default_user = runtime.settings.effective_user
    return envelope(page, paging, lambda job: render_job(
        job, counts=counts[job.id], present=present.get(job.id, 0),
        default_effective_user=default_user))


@router.get("/job_invocations/{id}", summary="Show a job invocation")
async def show(id: str, session: ReaderDep, runtime: RuntimeDep,
               user: Allowed("view_job_invocations"),
               include_hosts: BoolQuery = True, host_status: BoolQuery = False) -> dict:
    job = await invocations.find_invocation(session, id)
    return await job_body(session, runtime, job, include_hosts=include_hosts is not False,
                          host_status=bool(host_status))


@router.post("/job_invocations", status_code=status.HTTP_201_CREATED,
             summary="Create a job invocation",
             responses={200: {"description": "Dry run: what would run on each host"}})
async def create(body: JobInvocationBody, session: SessionDep, runtime: RuntimeDep,
                 user: Allowed("create_job_invocations"), later: BackgroundTasks,
                 include_hosts: BoolQuery = True) -> Any:
    now = runtime.clock()
    request = to_request(body.job_invocation, now)
    if body.job_invocation.dry_run:
        hosts = await dry_run(session, runtime, user=user.user, request=request, now=now)
        return JSONResponse({"hosts": hosts}, status_code=200)
    job = await invocations.create_invocation(
        session, vault=runtime.vault, settings=runtime.settings, user=user.user,
        req=request, now=now,
    )
    await audits.record_job(session, action="create", job=job)
    later.add_task(runtime.notify_work)
    return await job_body(session, runtime, job, include_hosts=include_hosts is not False,
                          host_status=False)


@router.post("/job_invocations/{id}/cancel", summary="Cancel a job invocation")
async def cancel(id: str, session: SessionDep, runtime: RuntimeDep,
                 user: Allowed("cancel_job_invocations"),
                 body: CancelIn | None = None, force: BoolQuery = None,
                 search: Annotated[str | None, Query()] = None) -> dict:
    job = await invocations.find_invocation(session, id)
    now = runtime.clock()
    force = force if force is not None else bool(body and body.force)
    search = search or (body.search if body else None)
    await audits.record_job(session, action="cancel", job=job, force=bool(force),
                            cancel_search=search)
    if search:
        return await _cancel_hosts(session, runtime, job, search, user.login, bool(force))
    await jobs.cancel_job(session, job=job, by=user.login, force=bool(force), now=now)
    return {"cancelled": True, "id": job.id}


async def _cancel_hosts(session, runtime, job, search, by, force) -> dict:
    from api.search import host_search

    runs = (
        await session.scalars(
            select(HostRun).join(Host, Host.id == HostRun.host_id)
            .where(HostRun.job_invocation_id == job.id, host_search(search))
        )
    ).all()
    cancelled, skipped = await jobs.cancel_runs(session, job=job, runs=runs, by=by, force=force,
                                                now=runtime.clock())
    return {"total": len(runs), "cancelled": cancelled, "skipped": skipped}


@router.post("/job_invocations/{id}/rerun", status_code=status.HTTP_201_CREATED,
             summary="Rerun a job invocation")
async def rerun(id: str, session: SessionDep, runtime: RuntimeDep,
                user: Allowed("create_job_invocations"),
                later: BackgroundTasks, body: RerunIn | None = None,
                failed_only: BoolQuery = None, succeeded_only: BoolQuery = None) -> dict:
    job = await invocations.find_invocation(session, id)
    failed_only = failed_only if failed_only is not None else bool(body and body.failed_only)
    succeeded_only = (
        succeeded_only if succeeded_only is not None else bool(body and body.succeeded_only)
    )
    try:
        new = await jobs.rerun_job(session, job=job, user_id=user.id, failed_only=bool(failed_only),
                                   succeeded_only=bool(succeeded_only), now=runtime.clock())
    except jobs.RerunWithoutTemplate as exc:
        raise NotFound(exc.message) from exc
    new = await invocations.find_invocation(session, new.id)
    await audits.record_job(session, action="rerun", job=new, rerun_of=job.id,
                            failed_only=bool(failed_only), succeeded_only=bool(succeeded_only))
    later.add_task(runtime.notify_work)
    return await job_body(session, runtime, new, include_hosts=False, host_status=False)
