"""Roles, their filters and the permission catalogue, managed Foreman's way.

Built-in roles (an `origin` is set) are locked: clone one to change it. A filter's
permissions share one resource type; only searchable resource types take a search, and the
search must compile. A non-admin may only put permissions they hold on every row into a filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from rex.errors import NotFound, ValidationFailed
from rex.models import Filter, Permission, Role
from rex.paging import Page, PageRequest, fetch_page
from rex.permissions import SEARCHABLE, Grants
from rex.refs import as_id
from search import FieldRegistry, IntegerField, SearchError, TextField, compile_query

__all__ = [
    "LOCKED",
    "clone_role",
    "create_filter",
    "create_role",
    "delete_filter",
    "delete_role",
    "find_filter",
    "find_permission",
    "find_role",
    "list_filters",
    "list_permissions",
    "list_roles",
    "update_filter",
    "update_role",
]

LOCKED = "This role is locked from being modified by users."
ROLE_FIELDS = FieldRegistry({
    "name": TextField(column=Role.name),
    "description": TextField(column=Role.description, default=False),
    "id": IntegerField(column=Role.id),
})  # fmt: skip
FILTER_FIELDS = FieldRegistry({
    "role": TextField(column=Role.name),
    "resource": TextField(column=Filter.resource_type),
    "search": TextField(column=Filter.search, default=False),
    "role_id": IntegerField(column=Filter.role_id),
    "id": IntegerField(column=Filter.id),
})  # fmt: skip
PERMISSION_FIELDS = FieldRegistry({
    "name": TextField(column=Permission.name),
    "resource_type": TextField(column=Permission.resource_type),
    "id": IntegerField(column=Permission.id),
})  # fmt: skip


def _by_ref(id_column: Any, name_column: Any, ref: str | int) -> Any:
    text = str(ref)
    cond = name_column == text
    if as_id(text) is not None:
        cond = or_(id_column == as_id(text), cond)
    return cond


def _where(request: PageRequest, fields: FieldRegistry) -> Any:
    return compile_query(request.search, fields) if request.search else None


def _loaded_role():
    return select(Role).options(selectinload(Role.filters).selectinload(Filter.permissions))


def _loaded_filter():
    return select(Filter).join(Role, Role.id == Filter.role_id).options(
        selectinload(Filter.permissions), selectinload(Filter.role)
    )


async def find_role(session: AsyncSession, ref: str | int) -> Role:
    """Return the role with id or name `ref` (filters loaded), or raise NotFound."""
    stmt = _loaded_role().where(_by_ref(Role.id, Role.name, ref)).order_by(Role.id)
    role = (await session.scalars(stmt)).first()
    if role is None:
        raise NotFound(f"Resource role not found by id '{str(ref)[:100]}'")
    return role


async def list_roles(session: AsyncSession, *, request: PageRequest) -> Page:
    """Return one page of roles, searched on name and id."""
    return await fetch_page(session, base=select(Role), request=request,
                            where=_where(request, ROLE_FIELDS), order_by=[Role.name, Role.id])


def _name(attrs: Mapping[str, Any]) -> str:
    name = (attrs.get("name") or "").strip()
    if not name:
        raise ValidationFailed.field("name", "can't be blank")
    return name


async def _unique_name(session: AsyncSession, name: str, role: Role | None = None) -> None:
    found = await session.scalar(select(Role.id).where(Role.name == name))
    if found is not None and (role is None or found != role.id):
        raise ValidationFailed.field("name", "has already been taken")


def _unlocked(role: Role) -> None:
    if role.origin:
        raise ValidationFailed(LOCKED, {"base": [LOCKED]})


async def create_role(session: AsyncSession, *, attrs: Mapping[str, Any], now: datetime) -> Role:
    """Create an empty role."""
    name = _name(attrs)
    await _unique_name(session, name)
    role = Role(name=name, description=attrs.get("description"), created_at=now, updated_at=now)
    session.add(role)
    await session.flush()
    return await find_role(session, role.id)


async def update_role(session: AsyncSession, *, role: Role, attrs: Mapping[str, Any],
                      now: datetime) -> Role:
    """Rename or describe a role; built-in roles are locked."""
    _unlocked(role)
    if "name" in attrs:
        role.name = _name(attrs)
        await _unique_name(session, role.name, role)
    if "description" in attrs:
        role.description = attrs["description"]
    role.updated_at = now
    await session.flush()
    return await find_role(session, role.id)


async def delete_role(session: AsyncSession, *, role: Role) -> None:
    """Delete a role with its filters; users holding it lose it."""
    _unlocked(role)
    await session.delete(role)
    await session.flush()


async def clone_role(session: AsyncSession, *, role: Role, attrs: Mapping[str, Any],
                     now: datetime) -> Role:
    """Copy a role (built-in ones too) with all its filters, unlocked, under a new name."""
    name = _name(attrs)
    await _unique_name(session, name)
    copy = Role(name=name, description=attrs.get("description", role.description),
                cloned_from_id=role.id, created_at=now, updated_at=now, filters=[
                    Filter(resource_type=f.resource_type, search=f.search, override=f.override,
                           permissions=list(f.permissions), created_at=now, updated_at=now)
                    for f in role.filters
                ])
    session.add(copy)
    await session.flush()
    return await find_role(session, copy.id)


async def find_filter(session: AsyncSession, ref: str | int) -> Filter:
    """Return the filter with id `ref`, or raise NotFound."""
    text = str(ref)
    found = None
    if as_id(text) is not None:
        found = await session.scalar(_loaded_filter().where(Filter.id == as_id(text)))
    if found is None:
        raise NotFound(f"Resource filter not found by id '{text[:100]}'")
    return found


async def list_filters(session: AsyncSession, *, request: PageRequest) -> Page:
    """Return one page of filters, searched on role, resource, role_id and id."""
    return await fetch_page(session, base=_loaded_filter(), request=request,
                            where=_where(request, FILTER_FIELDS), order_by=[Filter.id])


async def _permissions(session: AsyncSession, refs: list[int | str], errors: dict) -> list[Permission]:
    ids = [as_id(r) for r in refs if as_id(r) is not None]
    names = [str(r) for r in refs]
    found = (await session.scalars(
        select(Permission).where(or_(Permission.id.in_(ids), Permission.name.in_(names)))
    )).all()
    known = {str(p.id) for p in found} | {p.name for p in found}
    missing = [str(r) for r in refs if str(r) not in known]
    if missing:
        errors.setdefault("permission_ids", []).append(
            "unknown permissions: " + ", ".join(m[:60] for m in missing[:20])
        )
    return sorted(set(found), key=lambda p: p.id)


def _check_search(resource_type: str, search: str | None, errors: dict) -> str | None:
    search = search.strip() if search and search.strip() else None
    if search is None:
        return None
    compile_search = SEARCHABLE.get(resource_type)
    if compile_search is None:
        errors.setdefault("search", []).append(
            f"is not supported for resource type {resource_type}: leave it empty"
        )
        return None
    try:
        compile_search(search)
    except SearchError as exc:
        errors.setdefault("search", []).append(f"is invalid: {exc}")
    return search


async def _filter_values(session: AsyncSession, *, grants: Grants, attrs: Mapping[str, Any],
                         current: Filter | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    role = current.role if current else None
    if "role_id" in attrs or current is None:
        role = await session.scalar(_loaded_role().where(Role.id == (attrs.get("role_id") or 0)))
        if role is None:
            errors["role_id"] = ["can't be blank" if not attrs.get("role_id") else "does not exist"]
    permissions = current.permissions if current else []
    if "permission_ids" in attrs or current is None:
        permissions = await _permissions(session, list(attrs.get("permission_ids") or []), errors)
        if not permissions and "permission_ids" not in errors:
            errors["permission_ids"] = ["can't be blank"]
    types = sorted({p.resource_type for p in permissions})
    if len(types) > 1:
        errors.setdefault("permission_ids", []).append(
            "must all be of one resource type, not " + ", ".join(types)
        )
    resource_type = types[0] if types else (current.resource_type if current else "")
    search = attrs.get("search", current.search if current else None)
    search = _check_search(resource_type, search, errors)
    if role is not None and role.origin:
        errors.setdefault("base", []).append(LOCKED)
    refused = [p.name for p in permissions if not grants.unlimited(p.name)]
    if refused:
        errors.setdefault("permission_ids", []).append(
            "you can't grant permissions you do not hold on every object: " + ", ".join(refused)
        )
    if errors:
        human = [f"{k.replace('_', ' ').capitalize()} {v}" for k, vs in errors.items() for v in vs]
        raise ValidationFailed("Validation failed: " + "; ".join(human), errors)
    return {"role_id": role.id, "permissions": permissions, "resource_type": resource_type,
            "search": search, "override": bool(attrs.get("override", False))}


async def create_filter(session: AsyncSession, *, grants: Grants, attrs: Mapping[str, Any],
                        now: datetime) -> Filter:
    """Add a filter to a role."""
    values = await _filter_values(session, grants=grants, attrs=attrs, current=None)
    found = Filter(**values, created_at=now, updated_at=now)
    session.add(found)
    await session.flush()
    return await _reloaded(session, found)


async def update_filter(session: AsyncSession, *, grants: Grants, filter: Filter,
                        attrs: Mapping[str, Any], now: datetime) -> Filter:
    """Change a filter's role, permissions or search."""
    if filter.role.origin:
        raise ValidationFailed(LOCKED, {"base": [LOCKED]})
    values = await _filter_values(session, grants=grants, attrs=attrs, current=filter)
    for key, value in values.items():
        setattr(filter, key, value)
    filter.updated_at = now
    await session.flush()
    return await _reloaded(session, filter)


async def delete_filter(session: AsyncSession, *, filter: Filter) -> None:
    """Remove a filter from its role."""
    if filter.role.origin:
        raise ValidationFailed(LOCKED, {"base": [LOCKED]})
    await session.delete(filter)
    await session.flush()


async def _reloaded(session: AsyncSession, found: Filter) -> Filter:
    stmt = _loaded_filter().where(Filter.id == found.id)
    return await session.scalar(stmt.execution_options(populate_existing=True))


async def find_permission(session: AsyncSession, ref: str | int) -> Permission:
    """Return the permission with id or name `ref`, or raise NotFound."""
    stmt = select(Permission).where(_by_ref(Permission.id, Permission.name, ref))
    found = (await session.scalars(stmt.order_by(Permission.id))).first()
    if found is None:
        raise NotFound(f"Resource permission not found by id '{str(ref)[:100]}'")
    return found


async def list_permissions(session: AsyncSession, *, request: PageRequest,
                           resource_type: str | None = None) -> Page:
    """Return one page of the permission catalogue, optionally of one resource type."""
    base = select(Permission)
    if resource_type:
        base = base.where(Permission.resource_type == resource_type)
    return await fetch_page(session, base=base, request=request,
                            where=_where(request, PERMISSION_FIELDS),
                            order_by=[Permission.resource_type, Permission.name])
