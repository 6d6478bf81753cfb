"""Reading references from URLs and bodies: which strings are database ids."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["MAX_ID", "as_id", "find_by_ref"]

MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds on every database
_REF = re.compile(r"(\d{1,9})(?:-.*)?", re.DOTALL)  # "12" or Foreman's "12-run-command"


def as_id(ref: object) -> int | None:
    """Return `ref` as a database id when it is one (ASCII digits within MAX_ID), else None."""
    text = str(ref).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    value = int(text)
    return value if value <= MAX_ID else None


async def find_by_ref(session: AsyncSession, stmt: Any, id_column: Any, name_column: Any,
                      ref: str | int) -> Any:
    """Find by id ("12"), by name, or by Foreman's "12-name"; "12" is an id, "2024-x" a name first."""
    text = str(ref)
    match = _REF.fullmatch(text)
    number = int(match.group(1)) if match else None
    cond = name_column == text if number is None else (id_column == number) | (name_column == text)
    rows = list((await session.scalars(stmt.where(cond))).all())
    by_id = text.isdigit()
    rows.sort(key=lambda row: row.id != number if by_id else getattr(row, name_column.key) != text)
    return rows[0] if rows else None
