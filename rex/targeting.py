"""Which hosts a job runs on: search queries, host id/name lists, resolution order."""

from __future__ import annotations

import random
import re

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from rex.errors import ValidationFailed
from rex.host_search import host_filter
from rex.models import Host
from rex.refs import as_id

__all__ = ["query_for_hosts", "resolve_hosts"]

_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_.:@/+][A-Za-z0-9_.:@/+-]*$")
KEYWORDS = frozenset({"and", "or", "not", "has", "set?", "null?", "before", "after", "at"})


def _quoted(name: str) -> str:
    if _PLAIN_NAME.match(name) and name.lower() not in KEYWORDS:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def names_query(names: list[str]) -> str:
    """Return Foreman's `name ^ (h1, h2)` query for a list of host names."""
    return "name ^ (" + ", ".join(_quoted(n) for n in names) + ")"


async def query_for_hosts(session: AsyncSession, refs: list[str | int]) -> str:
    """Turn a list of host ids or names into `name ^ (...)`; unknown ones are a 422."""
    wanted = [str(r).strip() for r in refs if str(r).strip()]
    ids = [as_id(r) for r in wanted if as_id(r) is not None]
    rows = (
        await session.execute(
            select(Host.id, Host.name).where(or_(Host.id.in_(ids), Host.name.in_(wanted)))
        )
    ).all()
    by_ref = {str(i): n for i, n in rows} | {n: n for _, n in rows}
    missing = [r for r in wanted if r not in by_ref]
    if missing:
        raise ValidationFailed.field("host_ids", f"unknown hosts: {', '.join(missing[:20])}")
    names = list(dict.fromkeys(by_ref[r] for r in wanted))
    return names_query(names)


async def resolve_hosts(
    session: AsyncSession, query: str, *, randomized: bool = False, visible=None
) -> list[tuple[int, str]]:
    """Return (id, name) of the hosts matching `query`, by name then id, or shuffled."""
    stmt = select(Host.id, Host.name).where(host_filter(query)).order_by(Host.name, Host.id)
    if visible is not None:
        stmt = stmt.where(visible)
    rows = [(i, n) for i, n in (await session.execute(stmt)).all()]
    if randomized:
        random.shuffle(rows)
    return rows
