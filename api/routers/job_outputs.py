"""Per-host views of a job: hosts, output, raw output, outputs, template invocations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import PagingDep, ReaderDep
from api.permissions import Allowed
from api.render import envelope, timestamp
from api.schemas import OutputsQuery
from api.search import host_search
from api.views import host_job_status, output_lines
from rex import invocations
from rex.errors import BadRequest, NotFound
from rex.models import Host, HostRun, JobInvocation, OutputEvent
from rex.outputs import read_lines
from rex.paging import fetch_page
from rex.refs import as_id

router = APIRouter(tags=["job_invocations"])

SinceQuery = Annotated[str | None, Query(description="Only lines after this epoch timestamp")]


def parse_since(raw: str | float | None) -> float | None:
    """Parse `since` (float epoch seconds); a bad value is a 400."""
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid since '{raw}': expected epoch seconds, e.g. 1716490956.12")


async def _run_for(session, job: JobInvocation, host_ref: str) -> HostRun:
    cond = HostRun.host_name == host_ref
    if as_id(host_ref) is not None:
        cond = (HostRun.host_id == as_id(host_ref)) | cond
    run = await session.scalar(
        select(HostRun).where(HostRun.job_invocation_id == job.id, cond).order_by(HostRun.id)
    )
    if run is None:
        raise NotFound(f"Host with id '{host_ref}' was not found")
    return run


def _delayed(job: JobInvocation, empty) -> dict | None:
    if job.state != "scheduled":
        return None
    return {"complete": False, "refresh": True, "output": empty, "delayed": True,
            "start_at": timestamp(job.start_at)}


def _host_output(run: HostRun, events: list[OutputEvent], since: float | None, raw: bool) -> dict:
    refresh = run.state != "finished"
    lines = output_lines(run, events, since=since)
    output = "".join(line["output"] for line in lines) if raw else lines
    return {"complete": not refresh, "refresh": refresh, "output": output}


@router.get("/job_invocations/{job_invocation_id}/hosts/{host_id}", summary="Host output")
async def output(job_invocation_id: str, host_id: str, session: ReaderDep,
                 user: Allowed("view_job_invocations"),
                 since: SinceQuery = None) -> dict:
    job = await invocations.find_invocation(session, job_invocation_id, bare=True)
    run = await _run_for(session, job, host_id)
    delayed = _delayed(job, [])
    if delayed:
        return delayed
    start = parse_since(since)
    return _host_output(run, await read_lines(session, run.id, start), start, raw=False)


@router.get("/job_invocations/{job_invocation_id}/hosts/{host_id}/raw", summary="Raw host output")
async def raw_output(job_invocation_id: str, host_id: str, session: ReaderDep,
                     user: Allowed("view_job_invocations"), since: SinceQuery = None) -> dict:
    job = await invocations.find_invocation(session, job_invocation_id, bare=True)
    run = await _run_for(session, job, host_id)
    delayed = _delayed(job, None)
    if delayed:
        return delayed
    start = parse_since(since)
    return _host_output(run, await read_lines(session, run.id, start), start, raw=True)


async def _outputs(session, id: str, query: OutputsQuery) -> dict:
    job = await invocations.find_invocation(session, id)
    since = parse_since(query.since)
    stmt = select(HostRun).where(HostRun.job_invocation_id == job.id)
    if query.search_query:
        stmt = stmt.join(Host, Host.id == HostRun.host_id).where(host_search(query.search_query))
    runs = (await session.scalars(stmt.order_by(HostRun.position))).all()
    events: dict[int, list[OutputEvent]] = {run.id: [] for run in runs}
    if runs:
        rows = select(OutputEvent).where(OutputEvent.host_run_id.in_(list(events)))
        if since is not None:
            rows = rows.where(OutputEvent.timestamp > since)
        for event in (await session.scalars(rows.order_by(OutputEvent.host_run_id, OutputEvent.seq))):
            events[event.host_run_id].append(event)
    return {
        "outputs": [
            {**_host_output(run, events[run.id], since, raw=bool(query.raw)), "host_id": run.host_id}
            for run in runs
        ]
    }


@router.get("/job_invocations/{id}/outputs", summary="Outputs of many hosts")
async def outputs(id: str, session: ReaderDep, user: Allowed("view_job_invocations"),
                  search_query: Annotated[str | None, Query()] = None,
                  since: SinceQuery = None, raw: Annotated[bool | None, Query()] = False) -> dict:
    return await _outputs(session, id, OutputsQuery(search_query=search_query, since=since, raw=raw))


@router.post("/job_invocations/{id}/outputs", summary="Outputs of many hosts (query in the body)")
async def outputs_post(id: str, body: OutputsQuery, session: ReaderDep,
                       user: Allowed("view_job_invocations")) -> dict:
    return await _outputs(session, id, body)


@router.get("/job_invocations/{id}/hosts", summary="Hosts of a job invocation")
async def hosts(id: str, session: ReaderDep, user: Allowed("view_job_invocations"),
                paging: PagingDep,
                awaiting: Annotated[bool | None, Query()] = False) -> dict:
    job = await invocations.find_invocation(session, id)
    base = select(HostRun).join(Host, Host.id == HostRun.host_id).where(
        HostRun.job_invocation_id == job.id
    )
    if awaiting:
        base = base.where(HostRun.state == "queued")
    page = await fetch_page(session, base=base, request=paging, where=host_search(paging.search),
                            order_by=[HostRun.position])
    hosts_by_id = {
        h.id: h for h in (await session.scalars(
            select(Host).where(Host.id.in_([r.host_id for r in page.rows]))
        ))
    }
    return envelope(page, paging, lambda run: _host_row(run, hosts_by_id[run.host_id], job))


def _host_row(run: HostRun, host: Host, job: JobInvocation) -> dict:
    return {
        "name": host.name,
        "operatingsystem_id": None,
        "operatingsystem_name": host.operatingsystem_name,
        "hostgroup_id": None,
        "hostgroup_name": host.hostgroup_name,
        "id": host.id,
        "job_status": host_job_status(run, job),
        "smart_proxy_id": None,
        "smart_proxy_name": None,
    }


@router.get("/job_invocations/{id}/template_invocations", summary="Template invocations")
async def template_invocations(id: str, session: ReaderDep,
                               user: Allowed("view_template_invocations"),
                               paging: PagingDep) -> dict:
    job = await invocations.find_invocation(session, id)
    page = await fetch_page(session, base=select(HostRun).where(HostRun.job_invocation_id == job.id),
                            request=paging, order_by=[HostRun.position])
    return envelope(page, paging, lambda run: {
        "id": run.id,
        "template_id": job.template_id,
        "job_invocation_id": job.id,
        "effective_user": job.effective_user,
        "host_id": run.host_id,
        "run_host_job_task_id": run.task_id,
        "host_name": run.host_name,
    })
