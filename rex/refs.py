"""Reading references from URLs and bodies: which strings are database ids."""

from __future__ import annotations

__all__ = ["MAX_ID", "as_id"]

MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds on every database


def as_id(ref: object) -> int | None:
    """Return `ref` as a database id when it is one (ASCII digits within MAX_ID), else None."""
    text = str(ref).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    value = int(text)
    return value if value <= MAX_ID else None
