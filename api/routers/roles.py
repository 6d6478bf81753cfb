"""/api/roles, /api/filters and /api/permissions: who may do what, in Foreman's shapes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PagingDep, ReaderDep, RuntimeDep, SessionDep
from api.permissions import Allowed
from api.render import envelope, timestamp
from api.schemas import wrapped
from rex import roles
from rex.models import Filter, Permission, Role
from rex.permissions import PERMISSIONS, SEARCHABLE

router = APIRouter(tags=["roles"])

PermissionRef = Annotated[int | str, Field(description="Permission id or name")]


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, max_length=255, description="Role name")
    description: str | None = Field(default=None, max_length=10_000, description="Description")


class RoleBody(BaseModel):
    role: RoleIn
    _wrap = wrapped("role")


class FilterIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role_id: int | None = Field(default=None, ge=1, lt=2**31, description="Role of the filter")
    permission_ids: list[PermissionRef] | None = Field(
        default=None, max_length=200, description="Permissions, of one resource type"
    )
    search: str | None = Field(default=None, max_length=10_000,
                               description="Host search the filter is limited to (Host only)")
    override: bool | None = Field(default=None, description="Accepted; rex has no taxonomies")


class FilterBody(BaseModel):
    filter: FilterIn
    _wrap = wrapped("filter")


def render_permission(permission: Permission) -> dict:
    """Render a permission."""
    return {"id": permission.id, "name": permission.name,
            "resource_type": permission.resource_type}


def render_filter(found: Filter) -> dict:
    """Render a filter with its role and permissions."""
    role = found.role
    return {
        "id": found.id, "search": found.search, "resource_type": found.resource_type,
        "resource_type_label": found.resource_type, "unlimited?": found.search is None,
        "override?": found.override,
        "role": {"id": role.id, "name": role.name, "description": role.description,
                 "origin": role.origin},
        "permissions": [render_permission(p) for p in found.permissions],
        "created_at": timestamp(found.created_at), "updated_at": timestamp(found.updated_at),
        "locations": [], "organizations": [],
    }


def render_role(role: Role, *, detail: bool = True) -> dict:
    """Render a role as Foreman's index row (detail=False) or show body."""
    body = {
        "id": role.id, "name": role.name, "description": role.description,
        "builtin": role.builtin, "origin": role.origin, "locked": bool(role.origin),
        "cloned_from_id": role.cloned_from_id, "locations": [], "organizations": [],
    }
    if detail:
        body["filters"] = [
            {"id": f.id, "search": f.search, "unlimited?": f.search is None,
             "resource_type": f.resource_type,
             "permissions": [render_permission(p) for p in f.permissions]}
            for f in role.filters
        ]
    return body


@router.get("/roles", summary="List roles")
async def index(session: ReaderDep, user: Allowed("view_roles"), paging: PagingDep) -> dict:
    page = await roles.list_roles(session, request=paging)
    return envelope(page, paging, lambda role: render_role(role, detail=False))


@router.get("/roles/{id}", summary="Show a role")
async def show(id: str, session: ReaderDep, user: Allowed("view_roles")) -> dict:
    return render_role(await roles.find_role(session, id))


@router.post("/roles", status_code=status.HTTP_201_CREATED, summary="Create a role")
async def create(body: RoleBody, session: SessionDep, runtime: RuntimeDep,
                 user: Allowed("create_roles")) -> dict:
    attrs = body.role.model_dump(exclude_unset=True)
    return render_role(await roles.create_role(session, attrs=attrs, now=runtime.clock()))


@router.put("/roles/{id}", summary="Update a role")
async def update(id: str, body: RoleBody, session: SessionDep, runtime: RuntimeDep,
                 user: Allowed("edit_roles")) -> dict:
    role = await roles.find_role(session, id)
    attrs = body.role.model_dump(exclude_unset=True)
    return render_role(await roles.update_role(session, role=role, attrs=attrs,
                                               now=runtime.clock()))


@router.delete("/roles/{id}", summary="Delete a role")
async def destroy(id: str, session: SessionDep, user: Allowed("destroy_roles")) -> dict:
    role = await roles.find_role(session, id)
    body = render_role(role)
    await roles.delete_role(session, role=role)
    return body


@router.post("/roles/{id}/clone", status_code=status.HTTP_201_CREATED, summary="Clone a role")
async def clone(id: str, body: RoleBody, session: SessionDep, runtime: RuntimeDep,
                user: Allowed("create_roles")) -> dict:
    role = await roles.find_role(session, id)
    attrs = body.role.model_dump(exclude_unset=True)
    return render_role(await roles.clone_role(session, role=role, attrs=attrs,
                                              now=runtime.clock()))


@router.get("/filters", summary="List filters")
async def filters(session: ReaderDep, user: Allowed("view_filters"), paging: PagingDep) -> dict:
    page = await roles.list_filters(session, request=paging)
    return envelope(page, paging, render_filter)


@router.get("/filters/{id}", summary="Show a filter")
async def show_filter(id: str, session: ReaderDep, user: Allowed("view_filters")) -> dict:
    return render_filter(await roles.find_filter(session, id))


@router.post("/filters", status_code=status.HTTP_201_CREATED, summary="Create a filter")
async def create_filter(body: FilterBody, session: SessionDep, runtime: RuntimeDep,
                        user: Allowed("create_filters")) -> dict:
    attrs = body.filter.model_dump(exclude_unset=True)
    found = await roles.create_filter(session, grants=user.grants, attrs=attrs,
                                      now=runtime.clock())
    return render_filter(found)


@router.put("/filters/{id}", summary="Update a filter")
async def update_filter(id: str, body: FilterBody, session: SessionDep, runtime: RuntimeDep,
                        user: Allowed("edit_filters")) -> dict:
    found = await roles.find_filter(session, id)
    attrs = body.filter.model_dump(exclude_unset=True)
    changed = await roles.update_filter(session, grants=user.grants, filter=found, attrs=attrs,
                                        now=runtime.clock())
    return render_filter(changed)


@router.delete("/filters/{id}", summary="Delete a filter")
async def destroy_filter(id: str, session: SessionDep, user: Allowed("destroy_filters")) -> dict:
    found = await roles.find_filter(session, id)
    body = render_filter(found)
    await roles.delete_filter(session, filter=found)
    return body


@router.get("/permissions", summary="List permissions")
async def permissions(session: ReaderDep, user: Allowed("view_filters"), paging: PagingDep,
                      resource_type: Annotated[str | None, Query(max_length=255)] = None) -> dict:
    page = await roles.list_permissions(session, request=paging, resource_type=resource_type)
    return envelope(page, paging, render_permission)


@router.get("/permissions/resource_types", summary="List the resource types of permissions")
async def resource_types(user: Allowed("view_filters")) -> dict:
    names = sorted(set(PERMISSIONS.values()))
    return {"total": len(names), "subtotal": len(names), "page": 1, "per_page": len(names),
            "search": None, "sort": {"by": None, "order": None},
            "results": [{"name": n, "searchable": n in SEARCHABLE} for n in names]}


@router.get("/permissions/{id}", summary="Show a permission")
async def show_permission(id: str, session: ReaderDep, user: Allowed("view_filters")) -> dict:
    return render_permission(await roles.find_permission(session, id))
