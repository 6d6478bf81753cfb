"""Parsing the times users send: ISO 8601 or Foreman's form; no offset means UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from rex.errors import ValidationFailed

__all__ = ["parse_time"]

_FORMS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def parse_time(field: str, text: str | None) -> datetime | None:
    """Parse `text` into an aware UTC datetime; a bad value is a 422 naming `field`."""
    if text is None or not str(text).strip():
        return None
    value = str(text).strip()
    value = value.removesuffix(" UTC")
    parsed = _parse(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    if parsed is None:
        raise ValidationFailed.field(
            field, f"'{value[:100]}' is not a time (use ISO 8601, e.g. 2025-03-01T10:00:00+01:00)"
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+05:00 is before the first UTC day
        raise ValidationFailed.field(field, f"'{value[:100]}' is out of range") from exc


def _parse(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    for form in _FORMS:
        try:
            return datetime.strptime(value, form)
        except ValueError:
            continue
    return None
