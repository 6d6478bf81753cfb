"""Searching from the API: compile `search` parameters, 400 in Foreman's words when they are bad."""

from __future__ import annotations

from typing import Any

from rex.host_search import host_filter
from rex.job_search import job_filter

__all__ = ["host_search", "job_search"]


def host_search(query: str | None) -> Any:
    """Return the SQL condition for a host search, or None for no search."""
    if query is None or not query.strip():
        return None
    return host_filter(query)


def job_search(query: str | None) -> Any:
    """Return the SQL condition for a job-invocation search, or None for no search."""
    if query is None or not query.strip():
        return None
    return job_filter(query)

