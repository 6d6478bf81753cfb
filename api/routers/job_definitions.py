"""/api/job_definitions (read-only: REX_JOBS_DIR is the source of truth) and /api/events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Body, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PagingDep, RuntimeDep, SessionDep
from api.errors import ApiError
from api.openapi import KEEP_422
from api.permissions import Allowed
from api.render import envelope, timestamp
from api.schemas import DbInt
from rex import audits
from rex.errors import BadRequest
from rex.host_check import missing_executables
from rex.job_definition_registry import fire_event, run_definition
from rex.job_definitions import check
from rex.paging import Page
from rex.services import job_definitions

router = APIRouter(tags=["job_definitions"])
VALIDATE_422 = {"anyOf": [  # the definition's problems, or a request rex could not read
    {"type": "object", "required": ["valid", "errors"], "properties": {
        "valid": {"type": "boolean"}, "errors": {"type": "array", "items": {"type": "object"}}}},
    {"$ref": "#/components/schemas/Error"}]}
READ_ONLY = "Job definitions are read-only here: edit the JSON files in REX_JOBS_DIR"


class RunDefinitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parameters: dict[str, Any] | None = Field(default=None, description="Parameter values")


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Event name the definitions listen to", min_length=1,
                      max_length=255)


def _row(definition: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    return {"id": definition["id"], "filename": f"{definition['id']}.json", "valid": True,
            "name": definition["name"], "enabled": definition.get("enabled", True),
            "priority": definition.get("priority", 5), "warnings": warnings,
            "errors": [], "definition": definition}


@router.get("/job_definitions", summary="List job definitions, the invalid ones with their errors")
async def list_definitions(runtime: RuntimeDep, user: Allowed("view_job_templates"),
                           paging: PagingDep) -> dict:
    if paging.search or paging.order:
        raise BadRequest("Job definitions are listed by file name; search and order do not apply")
    registry = job_definitions(runtime)
    registry.scan(runtime.clock())
    rows = [_row(d, registry.warnings.get(i, [])) for i, d in sorted(registry.loaded.items())]
    rows += [{"id": c.definition.get("id"), "filename": name, "valid": False,
              "name": c.definition.get("name"), "errors": c.errors, "warnings": c.warnings}
             for name, c in sorted(registry.broken.items())]
    rows.sort(key=lambda row: row["filename"])
    shown = rows
    if paging.per_page is not None:
        shown = rows[(paging.page - 1) * paging.per_page:paging.page * paging.per_page]
    return envelope(Page(total=len(rows), subtotal=len(rows), rows=shown), paging, lambda r: r)


@router.post("/job_definitions/validate", summary="Check a job definition without loading it",
             openapi_extra={KEEP_422: True}, responses={422: {
                 "description": "Not valid: {valid: false, errors: [{path, message}]}",
                 "content": {"application/json": {"schema": VALIDATE_422}}}})
async def validate(runtime: RuntimeDep, user: Allowed("view_job_templates"),
                   filename: Annotated[str, Query(description="NAME.json it would be saved as")],
                   body: Annotated[Any, Body(description="The definition")] = None,
                   check_host: Annotated[DbInt | None, Query(
                       description="Also check the tasks' executables on this host")] = None) -> Any:
    checked = check(body, filename, now=runtime.clock())
    if check_host is not None and checked.valid:
        for problem in await missing_executables(runtime, check_host, checked.definition):
            checked.error(problem["path"], problem["message"])
    registry = job_definitions(runtime)
    alternate = checked.definition.get("alternateJobId")
    if alternate is not None and alternate != checked.definition.get("id") \
            and alternate not in registry.loaded:
        checked.error("alternateJobId", f"{alternate!r} is not a loaded job definition")
    elif alternate is not None:
        loaded = {**registry.loaded, checked.definition.get("id"): checked.definition}
        seen, current = [checked.definition.get("id")], alternate
        while current is not None and current in loaded:
            if current in seen:
                checked.error("alternateJobId", "makes a cycle: " + " -> ".join([*seen, current]))
                break
            seen.append(current)
            current = loaded[current].get("alternateJobId")
    if checked.valid:
        return {"valid": True, "errors": [], "warnings": checked.warnings}
    return JSONResponse({"valid": False, "errors": checked.errors}, status_code=422)


@router.get("/job_definitions/{id}", summary="Show a job definition")
async def show(id: str, runtime: RuntimeDep, user: Allowed("view_job_templates")) -> dict:
    registry = job_definitions(runtime)
    return _row(registry.get(id), registry.warnings.get(id, []))


@router.post("/job_definitions/{id}/run", status_code=status.HTTP_201_CREATED,
             summary="Run a job definition now")
async def run(id: str, body: RunDefinitionIn, session: SessionDep, runtime: RuntimeDep,
              user: Allowed("create_job_invocations"), later: BackgroundTasks) -> dict:
    registry = job_definitions(runtime)
    job = await run_definition(session, runtime, registry, registry.get(id), user=user.user,
                               parameters=body.parameters or {}, host_id=None, now=runtime.clock())
    later.add_task(runtime.notify_work)
    if job is not None:
        await audits.record_job(session, action="create", job=job, job_definition_id=id)
    if job is None:
        return {"job_invocation_id": None, "message": "The condition is false: nothing ran"}
    return {"job_invocation_id": job.id, "job_definition_id": job.job_definition_id,
            "created_at": timestamp(job.created_at or datetime.now())}


@router.post("/events", summary="Post an event: the job definitions listening to it run")
async def event(body: EventIn, session: SessionDep, runtime: RuntimeDep,
                user: Allowed("create_job_invocations"), later: BackgroundTasks) -> dict:
    started = await fire_event(session, runtime, job_definitions(runtime), body.name,
                               host_id=None, now=runtime.clock())
    later.add_task(runtime.notify_work)
    return {"name": body.name, "started": started}


async def _read_only(id: str, user: Allowed("view_job_templates")) -> None:
    raise ApiError(405, READ_ONLY)


for _method in ("PUT", "DELETE"):
    router.add_api_route("/job_definitions/{id}", _read_only, methods=[_method],
                         summary="Refused: definitions are files", status_code=405,
                         operation_id=f"job_definition_{_method.lower()}")


@router.post("/job_definitions", summary="Refused: definitions are files", status_code=405)
async def create(user: Allowed("view_job_templates")) -> None:
    raise ApiError(405, READ_ONLY)
