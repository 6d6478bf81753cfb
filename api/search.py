"""Searching from the API: compile `search` parameters, 400 in Foreman's words when they are bad."""

from __future__ import annotations

from typing import Any

__all__ = ["host_search"]


def host_search(query: str | None) -> Any:
    """Return the SQL condition for a host search, or None for no search."""
    if query is None or not query.strip():
        return None
    from rex.host_search import host_filter

    return host_filter(query)
