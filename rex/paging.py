"""Paged, searched, ordered listing of any model: the data behind every index envelope."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rex.errors import BadRequest, ValidationFailed
from search import FieldRegistry, compile_query

__all__ = ["Page", "PageRequest", "fetch_page", "ordering", "search_page"]


@dataclass(frozen=True)
class PageRequest:
    """What the caller asked for: page (1-based), per_page (None = all), search, order."""

    page: int = 1
    per_page: int | None = 20
    search: str | None = None
    order: str | None = None

    def sort(self) -> tuple[str | None, str | None]:
        """Split `order` ("name DESC") into the field and its direction."""
        if not self.order or not self.order.strip():
            return None, None
        parts = self.order.split()
        if len(parts) > 2 or (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC")):
            raise ValidationFailed(f"Invalid order '{self.order}': use '<field> [ASC|DESC]'")
        return parts[0], (parts[1].upper() if len(parts) == 2 else "ASC")


@dataclass
class Page:
    """One page of rows plus the counts of the envelope."""

    total: int
    subtotal: int
    rows: list[Any]


async def fetch_page(
    session: AsyncSession,
    *,
    base: Select,
    request: PageRequest,
    where: Any = None,
    order_by: list[Any],
) -> Page:
    """Run `base` filtered by `where`, ordered and cut to the requested page."""
    total = await session.scalar(select(func.count()).select_from(base.order_by(None).subquery()))
    filtered = base if where is None else base.where(where)
    if where is None:
        subtotal = total
    else:
        subtotal = await session.scalar(
            select(func.count()).select_from(filtered.order_by(None).subquery())
        )
    stmt = filtered.order_by(*order_by)
    if request.per_page is not None:
        stmt = stmt.limit(request.per_page).offset((request.page - 1) * request.per_page)
    rows = list((await session.scalars(stmt)).unique().all())
    return Page(total=total or 0, subtotal=subtotal or 0, rows=rows)


def ordering(request: PageRequest, orderable: dict[str, Any], default: list[Any],
             *tiebreaks: Any) -> list[Any]:
    """Return the ORDER BY of `request.order` over `orderable` columns, then `tiebreaks`.

    Without an order it is `default`; a field not in `orderable` is a 400.
    """
    field, direction = request.sort()
    if not field:
        return default
    if field not in orderable:
        raise BadRequest(f"Unknown order field '{field}': use one of {', '.join(sorted(orderable))}")
    column = orderable[field]
    return [column.desc() if direction == "DESC" else column.asc(), *tiebreaks]


async def search_page(session: AsyncSession, request: PageRequest, base: Select, fields: FieldRegistry,
                      columns: Sequence[Any], default: Sequence[Any]) -> Page:
    """Return one page of `base` searched over `fields`, ordered by one of `columns` or `default`."""
    # a chosen column goes before all of the default order, which breaks its ties
    order = ordering(request, {c.key: c for c in columns}, list(default), *default)
    query = request.search
    where = compile_query(query, fields) if query and query.strip() else None
    return await fetch_page(session, base=base, request=request, where=where, order_by=order)
