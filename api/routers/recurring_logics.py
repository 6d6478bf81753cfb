"""/foreman_tasks/api/recurring_logics: watch, pause, resume and cancel recurring jobs."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import PagingDep, ReaderDep, RuntimeDep, SessionDep
from api.permissions import Allowed
from api.render import envelope, timestamp
from api.schemas import wrapped
from rex import recurring
from rex.models import RecurringLogic
from rex.paging import fetch_page

router = APIRouter(tags=["recurring_logics"])


async def render_logic(session, logic: RecurringLogic) -> dict:
    """Render a recurring logic as foreman-tasks does (with its spelling of occurrence)."""
    return {
        "id": logic.id,
        "cron_line": logic.cron_line,
        "end_time": timestamp(logic.end_time),
        "iteration": logic.iteration,
        "task_group_id": logic.id,
        "state": logic.state,
        "max_iteration": logic.max_iteration,
        "purpose": logic.purpose,
        "task_count": await recurring.task_count(session, logic),
        "action": "Run hosts job:",
        "last_occurence": timestamp(logic.last_occurrence),
        "next_occurence": timestamp(logic.next_occurrence),
    }


class RecurringLogicIn(BaseModel):
    enabled: bool | None = Field(default=None, description="false pauses, true resumes")


class RecurringLogicBody(BaseModel):
    recurring_logic: RecurringLogicIn
    _wrap = wrapped("recurring_logic")


@router.get("/recurring_logics", summary="List recurring logics")
async def index(
    session: ReaderDep, user: Allowed("view_recurring_logics"), paging: PagingDep
) -> dict:
    page = await fetch_page(session, base=select(RecurringLogic), request=paging,
                            order_by=[RecurringLogic.id.desc()])
    rows = [await render_logic(session, logic) for logic in page.rows]
    return envelope(page, paging, lambda row: row, rows=rows)


@router.get("/recurring_logics/{id}", summary="Show a recurring logic")
async def show(id: str, session: ReaderDep, user: Allowed("view_recurring_logics")) -> dict:
    return await render_logic(session, await recurring.find_logic(session, id))


@router.post("/recurring_logics/{id}/cancel", summary="Cancel a recurring logic")
async def cancel(
    id: str, session: SessionDep, runtime: RuntimeDep, user: Allowed("edit_recurring_logics")
) -> dict:
    logic = await recurring.find_logic(session, id)
    await recurring.cancel_logic(session, logic=logic, by=user.login, now=runtime.clock())
    return await render_logic(session, logic)


@router.put("/recurring_logics/{id}", summary="Enable or disable a recurring logic")
async def update(id: str, body: RecurringLogicBody, session: SessionDep, runtime: RuntimeDep,
                 user: Allowed("edit_recurring_logics")) -> dict:
    logic = await recurring.find_logic(session, id)
    if body.recurring_logic.enabled is not None:
        await recurring.set_enabled(session, logic=logic, enabled=body.recurring_logic.enabled,
                                    now=runtime.clock())
    return await render_logic(session, logic)
