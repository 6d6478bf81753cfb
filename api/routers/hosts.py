"""/api/hosts: the inventory, with Foreman's shapes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from api.deps import PagingDep, ReaderDep, RuntimeDep, SessionDep
from api.permissions import Access, Allowed
from api.render import envelope, timestamp
from api.schemas import FactsBody, HostBody
from api.search import host_search
from rex import hosts
from rex.errors import AccessDenied
from rex.job_definition_registry import fire_event
from rex.models import Host
from rex.secrets import MASK
from rex.services import job_definitions


async def host_event(session, runtime, name: str, host_id: int) -> None:
    """Run the job definitions listening to a host event, on that host (in this transaction)."""
    if runtime.settings.jobs_dir is not None:
        await fire_event(session, runtime, job_definitions(runtime), name, host_id=host_id,
                         now=runtime.clock())
        runtime.notify_work()


router = APIRouter(tags=["hosts"])

ShowHiddenQuery = Annotated[bool | None, Query(
    description="Show the values of hidden parameters (needs edit_hosts; secrets stay masked)")]


def render_parameter(param, *, show_hidden: bool = False) -> dict:
    """Render one host parameter in its type; secret ones always, hidden ones by default masked."""
    value = hosts.typed_value(param.value, param.parameter_type)
    if param.value and (param.name in hosts.SECRET_PARAMETERS or
                        (param.hidden_value and not show_hidden)):
        value = MASK
    return {
        "id": param.id,
        "name": param.name,
        "value": value,
        "parameter_type": param.parameter_type,
        "hidden_value": param.hidden_value,
        "priority": 70,
        "created_at": timestamp(param.created_at),
        "updated_at": timestamp(param.updated_at),
    }


def render_host(host: Host, *, detail: bool = True, show_hidden: bool = False) -> dict:
    """Render a host as Foreman's index row (detail=False) or show body."""
    body = {
        "id": host.id,
        "name": host.name,
        "display_name": host.name,
        "ip": host.ip,
        "comment": host.comment,
        "operatingsystem_id": None,
        "operatingsystem_name": host.operatingsystem_name,
        "hostgroup_id": None,
        "hostgroup_name": host.hostgroup_name,
        "domain_id": None,
        "domain_name": host.domain_name,
        "organization_id": None,
        "organization_name": host.organization_name,
        "location_id": None,
        "location_name": host.location_name,
        "managed": host.managed,
        "build": host.build,
        "created_at": timestamp(host.created_at),
        "updated_at": timestamp(host.updated_at),
    }
    if detail:
        body["parameters"] = [render_parameter(p, show_hidden=show_hidden)
                              for p in host.parameters]
    return body


async def _within(session, user: Access, permission: str, host: Host) -> None:
    """Refuse a change that leaves a host outside the user's filter (rolled back with the request)."""
    scope = user.scope(permission)
    if scope is None:
        return
    if await session.scalar(select(Host.id).where(Host.id == host.id, scope)) is None:
        raise AccessDenied([permission], f"Host {host.name} is outside what your {permission} "
                           "filter allows")


@router.get("/hosts", summary="List hosts")
async def index(session: ReaderDep, user: Allowed("view_hosts"), paging: PagingDep) -> dict:
    where = host_search(paging.search)
    page = await hosts.list_hosts(session, request=paging, where=where,
                                  visible=user.scope("view_hosts"))
    return envelope(page, paging, lambda h: render_host(h, detail=False))


@router.get("/hosts/{id}", summary="Show a host")
async def show(id: str, session: ReaderDep, user: Allowed("view_hosts"),
               show_hidden_parameters: ShowHiddenQuery = False) -> dict:
    host = await hosts.find_host(session, id, visible=user.scope("view_hosts"))
    # Who may change a host's parameters may read them; secret ones stay masked regardless.
    reveal = bool(show_hidden_parameters) and user.grants.allows("edit_hosts")
    return render_host(host, show_hidden=reveal)


@router.post("/hosts", status_code=status.HTTP_201_CREATED, summary="Create a host")
async def create(
    body: HostBody, session: SessionDep, runtime: RuntimeDep, user: Allowed("create_hosts")
):
    attrs = body.host.model_dump(exclude_unset=True, mode="json")
    host = await hosts.create_host(session, vault=runtime.vault, attrs=attrs)
    await _within(session, user, "create_hosts", host)
    await host_event(session, runtime, "HostCreated", host.id)
    return render_host(host)


@router.put("/hosts/{id}", summary="Update a host")
async def update(
    id: str, body: HostBody, session: SessionDep, runtime: RuntimeDep, user: Allowed("edit_hosts")
) -> dict:
    host = await hosts.find_host(session, id, visible=user.scope("edit_hosts"))
    attrs = body.host.model_dump(exclude_unset=True, mode="json")
    host = await hosts.update_host(session, vault=runtime.vault, host=host, attrs=attrs)
    await _within(session, user, "edit_hosts", host)
    return render_host(host)


@router.delete("/hosts/{id}", summary="Delete a host")
async def destroy(id: str, session: SessionDep, user: Allowed("destroy_hosts")) -> dict:
    host = await hosts.find_host(session, id, visible=user.scope("destroy_hosts"))
    body = render_host(host)
    await hosts.delete_host(session, host=host)
    return body


@router.post("/hosts/facts", status_code=status.HTTP_201_CREATED, summary="Upload facts")
async def upload_facts(body: FactsBody, session: SessionDep, runtime: RuntimeDep,
                       user: Allowed("create_hosts")) -> dict:
    host = await hosts.import_facts(session, name=body.name, facts=body.facts)
    await host_event(session, runtime, "HostFactsUpdated", host.id)
    return render_host(host)


@router.get("/hosts/{id}/facts", summary="Show a host's facts")
async def facts(
    id: str, session: ReaderDep, user: Allowed("view_hosts"), paging: PagingDep
) -> dict:
    host = await hosts.find_host(session, id, visible=user.scope("view_hosts"))
    page = await hosts.list_facts(session, host=host, request=paging)
    body = envelope(page, paging, lambda fact: fact)
    body["results"] = {host.name: {fact.name: fact.value for fact in page.rows}}
    return body
