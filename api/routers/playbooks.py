"""/api/playbooks and /api/playbook_runs: multi-step jobs with conditions and approval gates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api.deps import PagingDep, ReaderDep, RuntimeDep, SessionDep
from api.permissions import Allowed
from api.render import envelope, with_timestamps
from rex import audits, playbook_runs, playbooks
from rex.errors import Conflict
from rex.models import Playbook, PlaybookRun
from rex.paging import fetch_page, ordering
from search import FieldRegistry, IntegerField, TextField, compile_query

router = APIRouter(tags=["playbooks"])
PLAYBOOK_FIELDS = FieldRegistry({
    "name": TextField(column=Playbook.name),
    "id": IntegerField(column=Playbook.id),
})  # fmt: skip
RUN_FIELDS = FieldRegistry({
    "name": TextField(column=PlaybookRun.playbook_name),
    "state": TextField(column=PlaybookRun.state),
    "id": IntegerField(column=PlaybookRun.id),
    "playbook_id": IntegerField(column=PlaybookRun.playbook_id),
})  # fmt: skip


class PlaybookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, description="Playbook name")
    description: str | None = Field(default=None, description="What it does")
    parameters: list[dict[str, Any]] | None = Field(
        default=None, description="[{name, type: string|number|boolean, default, required}]")
    steps: list[dict[str, Any]] | None = Field(
        default=None, description="[{id, script+runtime | job_template_id, inputs, condition, "
                                  "timeout_seconds, continue_on_failure} | {id, type: approval, "
                                  "approval_timeout_seconds}]")


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parameters: dict[str, Any] | None = Field(default=None, description="Parameter values")
    targets: dict[str, Any] | None = Field(default=None, description="Targets object")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, description="Why")


def render_playbook(playbook: Playbook) -> dict:
    """Render a playbook with its times as Foreman formats them."""
    return with_timestamps(playbooks.playbook_view(playbook))


def render_run(run: PlaybookRun) -> dict:
    """Render a run with its times as Foreman formats them."""
    return with_timestamps(playbook_runs.run_view(run))


@router.get("/playbooks", summary="List playbooks")
async def index(session: ReaderDep, user: Allowed("view_job_templates"), paging: PagingDep) -> dict:
    where = compile_query(paging.search, PLAYBOOK_FIELDS) if paging.search else None
    order = ordering(paging, {"id": Playbook.id, "name": Playbook.name}, [Playbook.name], Playbook.id)
    page = await fetch_page(session, base=select(Playbook), request=paging, where=where,
                            order_by=order)
    return envelope(page, paging, render_playbook)


@router.post("/playbooks", status_code=status.HTTP_201_CREATED, summary="Create a playbook")
async def create(body: PlaybookIn, session: SessionDep, user: Allowed("create_job_templates")) -> dict:
    playbook = await playbooks.create_playbook(session, body.model_dump(exclude_unset=True))
    await _audit(session, "create", playbook)
    return render_playbook(playbook)


@router.get("/playbooks/{id}", summary="Show a playbook")
async def show(id: str, session: ReaderDep, user: Allowed("view_job_templates")) -> dict:
    return render_playbook(await playbooks.find_playbook(session, id))


@router.put("/playbooks/{id}", summary="Update a playbook")
async def update(id: str, body: PlaybookIn, session: SessionDep,
                 user: Allowed("edit_job_templates")) -> dict:
    playbook = await playbooks.find_playbook(session, id)
    if playbook.builtin:
        raise Conflict(f"Playbook {playbook.name} is built in; create your own from it")
    await playbooks.update_playbook(session, playbook, body.model_dump(exclude_unset=True))
    await _audit(session, "update", playbook)
    return render_playbook(playbook)


@router.delete("/playbooks/{id}", summary="Delete a playbook (its runs stay)")
async def destroy(id: str, session: SessionDep, user: Allowed("destroy_job_templates")) -> dict:
    playbook = await playbooks.find_playbook(session, id)
    if playbook.builtin:
        raise Conflict(f"Playbook {playbook.name} is built in and cannot be deleted")
    body = render_playbook(playbook)
    await _audit(session, "destroy", playbook)
    await session.delete(playbook)
    await session.flush()
    return body


async def _audit(session, action: str, playbook: Playbook) -> None:
    view = playbooks.playbook_view(playbook)
    await audits.record(session, action=action, type_name="Playbook", auditable_id=playbook.id,
                        name=playbook.name, changes={"steps": [
                            {k: v for k, v in s.items() if k in ("id", "type", "script_sha512",
                                                                 "job_template_id")}
                            for s in view["steps"]]})


@router.post("/playbooks/{id}/run", status_code=status.HTTP_201_CREATED, summary="Run a playbook")
async def run(id: str, body: RunIn, session: SessionDep, runtime: RuntimeDep,
              user: Allowed("create_job_invocations"), later: BackgroundTasks) -> dict:
    playbook = await playbooks.find_playbook(session, id)
    started = await playbook_runs.start_run(
        session, runtime, playbook=playbook, user=user.user, parameters=body.parameters,
        targets=body.targets if body.targets is not None else {}, now=runtime.clock())
    await _run_audit(session, "run", started)
    later.add_task(runtime.notify_work)
    return render_run(started)


async def _run_audit(session, action: str, run: PlaybookRun, **extra: Any) -> None:
    await audits.record(session, action=action, type_name="PlaybookRun", auditable_id=run.id,
                        name=run.playbook_name, changes={"state": run.state, **extra})


@router.get("/playbook_runs", summary="List playbook runs")
async def runs(session: ReaderDep, user: Allowed("view_job_invocations"), paging: PagingDep) -> dict:
    where = compile_query(paging.search, RUN_FIELDS) if paging.search else None
    order = ordering(paging, {"id": PlaybookRun.id}, [PlaybookRun.id.desc()], PlaybookRun.id)
    page = await fetch_page(session, base=select(PlaybookRun), request=paging, where=where,
                            order_by=order)
    return envelope(page, paging, render_run)


@router.get("/playbook_runs/{id}", summary="Show a playbook run")
async def show_run(id: str, session: ReaderDep, user: Allowed("view_job_invocations")) -> dict:
    return render_run(await playbook_runs.find_run(session, id))


@router.post("/playbook_runs/{id}/cancel", summary="Cancel a playbook run")
async def cancel_run(id: str, session: SessionDep, runtime: RuntimeDep,
                     user: Allowed("cancel_job_invocations")) -> dict:
    found = await playbook_runs.find_run(session, id)
    await playbook_runs.cancel_run(session, run=found, by=user.login, now=runtime.clock())
    await _run_audit(session, "cancel", found)
    return render_run(found)


@router.post("/playbook_runs/{id}/approve", summary="Approve a run waiting at a gate")
async def approve(id: str, body: DecisionIn, session: SessionDep, runtime: RuntimeDep,
                  user: Allowed("approve_playbook_runs"), later: BackgroundTasks) -> dict:
    found = await playbook_runs.find_run(session, id)
    await playbook_runs.approve(session, runtime, run=found, user=user.user,
                                comment=body.comment, now=runtime.clock())
    await _run_audit(session, "approve", found, comment=body.comment)
    later.add_task(runtime.notify_work)
    return render_run(found)


@router.post("/playbook_runs/{id}/reject", summary="Reject a run waiting at a gate")
async def reject(id: str, body: DecisionIn, session: SessionDep, runtime: RuntimeDep,
                 user: Allowed("approve_playbook_runs")) -> dict:
    found = await playbook_runs.find_run(session, id)
    await playbook_runs.reject(session, run=found, user=user.user, comment=body.comment,
                               now=runtime.clock())
    await _run_audit(session, "reject", found, comment=body.comment)
    return render_run(found)
