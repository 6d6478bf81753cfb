"""Shared rendering helpers: Foreman's timestamps and the index envelope."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from rex.paging import Page, PageRequest

__all__ = ["envelope", "timestamp"]


def timestamp(value: datetime | None) -> str | None:
    """Format a datetime as Foreman does: `2025-02-24 15:05:00 UTC`."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def with_timestamps(row: dict[str, Any]) -> dict[str, Any]:
    """Format every datetime value of `row` as Foreman does."""
    return {k: timestamp(v) if isinstance(v, datetime) else v for k, v in row.items()}


def envelope(
    page: Page, request: PageRequest, render: Callable[[Any], dict], rows: Iterable | None = None
) -> dict:
    """Wrap a page in Foreman's index envelope."""
    by, order = request.sort()
    return {
        "total": page.total,
        "subtotal": page.subtotal,
        "page": request.page,
        "per_page": request.per_page if request.per_page is not None else page.subtotal,
        "search": request.search,
        "sort": {"by": by, "order": order},
        "results": [render(row) for row in (page.rows if rows is None else rows)],
    }
