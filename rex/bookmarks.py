"""Bookmarks: named, saved searches; a job may target a bookmark's query instead of its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rex.errors import BadRequest, NotFound, ValidationFailed
from rex.models import Bookmark, User
from rex.paging import Page, PageRequest, fetch_page
from rex.refs import as_id
from search import FieldRegistry, TextField, compile_query

__all__ = [
    "BOOKMARK_FIELDS",
    "CONTROLLERS",
    "TARGETING_CONTROLLERS",
    "create_bookmark",
    "delete_bookmark",
    "find_bookmark",
    "list_bookmarks",
    "targeting_query",
    "update_bookmark",
]

# Controllers whose searches rex understands; jobs target bookmarks of the first two.
CONTROLLERS = ("hosts", "dashboard", "job_invocations", "job_templates", "foreman_tasks/tasks")
TARGETING_CONTROLLERS = ("hosts", "dashboard")
BOOKMARK_FIELDS = FieldRegistry({
    "name": TextField(column=Bookmark.name),
    "controller": TextField(column=Bookmark.controller),
    "query": TextField(column=Bookmark.query, default=False),
})
ORDERABLE = {"id": Bookmark.id, "name": Bookmark.name, "controller": Bookmark.controller}
ATTRIBUTES = ("name", "query", "controller", "public")


def _visible(user: User) -> Any:
    """Public bookmarks and the user's own; an admin sees every one."""
    if user.admin:
        return None
    return or_(Bookmark.public.is_(True), Bookmark.owner_id == user.id)


async def find_bookmark(session: AsyncSession, ref: str | int, *, user: User) -> Bookmark:
    """Return the bookmark `ref` (id or name) the user may see, or raise NotFound."""
    text = str(ref)
    cond = (Bookmark.id == as_id(text)) if as_id(text) is not None else (Bookmark.name == text)
    stmt = select(Bookmark).where(cond).order_by(Bookmark.id)
    visible = _visible(user)
    if visible is not None:
        stmt = stmt.where(visible)
    found = (await session.scalars(stmt)).first()
    if found is None:
        raise NotFound(f"Resource bookmark not found by id '{text}'")
    return found


async def list_bookmarks(session: AsyncSession, *, request: PageRequest, user: User) -> Page:
    """Return one page of the bookmarks the user may see, searched by name and controller."""
    base = select(Bookmark)
    visible = _visible(user)
    if visible is not None:
        base = base.where(visible)
    where = None
    if request.search and request.search.strip():
        where = compile_query(request.search, BOOKMARK_FIELDS)
    field, direction = request.sort()
    order = [Bookmark.name, Bookmark.id]
    if field:
        if field not in ORDERABLE:
            raise BadRequest(f"Unknown order field '{field}': use one of {', '.join(ORDERABLE)}")
        column = ORDERABLE[field]
        order = [column.desc() if direction == "DESC" else column.asc(), Bookmark.id]
    return await fetch_page(session, base=base, request=request, where=where, order_by=order)


async def create_bookmark(
    session: AsyncSession, *, attrs: Mapping[str, Any], owner: User
) -> Bookmark:
    """Create a bookmark owned by `owner`; every bad field is named in one 422."""
    values = {"public": False, **_values(attrs)}
    await _check(session, values, own_id=None)
    bookmark = Bookmark(**values, owner_id=owner.id)
    session.add(bookmark)
    await _flush(session)
    return bookmark


async def update_bookmark(
    session: AsyncSession, *, bookmark: Bookmark, attrs: Mapping[str, Any]
) -> Bookmark:
    """Change the given attributes of `bookmark`."""
    values = _values(attrs)
    current = {key: getattr(bookmark, key) for key in ATTRIBUTES}
    await _check(session, {**current, **values}, own_id=bookmark.id)
    for key, value in values.items():
        setattr(bookmark, key, value)
    await _flush(session)
    return bookmark


async def delete_bookmark(session: AsyncSession, *, bookmark: Bookmark) -> None:
    """Delete `bookmark`; jobs that targeted it keep their last query."""
    await session.delete(bookmark)
    await session.flush()


async def targeting_query(session: AsyncSession, *, bookmark_id: int, user: User) -> str:
    """Return the query of a bookmark a job may target (public or the user's own), else 422."""
    try:
        bookmark = await find_bookmark(session, bookmark_id, user=user)
    except NotFound:
        bookmark = None
    if bookmark is None or bookmark.controller not in TARGETING_CONTROLLERS:
        raise ValidationFailed.field("bookmark_id", f"bookmark {bookmark_id} was not found")
    return bookmark.query


def _values(attrs: Mapping[str, Any]) -> dict[str, Any]:
    values = {key: attrs[key] for key in ATTRIBUTES if key in attrs}
    for key in ("name", "query", "controller"):
        if key in values:
            values[key] = None if values[key] is None else str(values[key]).strip()
    if "public" in values:
        values["public"] = bool(values["public"])
    return values


async def _check(session: AsyncSession, values: Mapping[str, Any], *, own_id: int | None) -> None:
    errors: dict[str, list[str]] = {}
    for key in ("name", "query", "controller"):
        if not values.get(key):
            errors[key] = ["can't be blank"]
    if len(values.get("name") or "") > 255:
        errors["name"] = ["is too long (maximum is 255 characters)"]
    controller = values.get("controller")
    if controller and controller not in CONTROLLERS:
        errors["controller"] = [f"is not included in the list: {', '.join(CONTROLLERS)}"]
    if values.get("name") and "controller" not in errors and "name" not in errors:
        taken = select(Bookmark.id).where(Bookmark.name == values["name"],
                                          Bookmark.controller == controller,
                                          Bookmark.id != (own_id or 0))
        if await session.scalar(taken) is not None:
            errors["name"] = ["has already been taken"]
    if errors:
        first = next(iter(errors.items()))
        raise ValidationFailed(f"Validation failed: {first[0].capitalize()} {first[1][0]}", errors)


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ValidationFailed.field("name", "has already been taken") from exc
