"""Date values of the search language: absolute and relative forms, each with its precision."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["Moment", "parse_moment"]

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTH = "(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"

_RELATIVE = re.compile(
    r"(?P<n>\d{1,6})\s+(?P<unit>minute|hour|day|week|month|year)s?\s+(?P<dir>ago|from\s+now)",
    re.IGNORECASE,
)
_DATE = r"(?P<y>\d{4})(?P<sep>[-/])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
_TIME = r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<f>\.\d{1,6})?)?"
_ZONE = r"\s*(?P<z>Z|UTC|[+-]\d{2}(?::?\d{2})?)?"
_ABSOLUTE = [
    re.compile(_DATE + r"(?:(?:T|\s+)" + _TIME + _ZONE + ")?", re.IGNORECASE),
    re.compile(r"(?P<yy>\d{2})-(?P<m>\d{2})-(?P<d>\d{2})"),
    re.compile(_MONTH + r"\s+(?P<d>\d{1,2}),?\s+(?P<y>\d{4})", re.IGNORECASE),
    re.compile(r"(?P<d>\d{1,2})\s+" + _MONTH + r",?\s+(?P<y>\d{4})", re.IGNORECASE),
    re.compile(_MONTH + r",?\s+(?P<y>\d{4})", re.IGNORECASE),
]
_DAY_WORDS = {"today": 0, "yesterday": -1, "tomorrow": 1}


@dataclass(frozen=True)
class Moment:
    """The span a date value names: `start <= t < end`; `fine` when shorter than a day."""

    start: datetime
    end: datetime

    @property
    def fine(self) -> bool:
        """Tell whether the span is shorter than a day (then `>` and `<=` compare to start)."""
        return self.end - self.start < timedelta(days=1)


def parse_moment(text: str, now: datetime) -> Moment | None:
    """Read a date value as a UTC span, or None when it is not a valid date."""
    value = " ".join(text.split())
    try:
        return _relative(value, now) or _absolute(value)
    except (ValueError, OverflowError):
        return None


def _relative(value: str, now: datetime) -> Moment | None:
    now = _utc(now)
    if value.lower() in _DAY_WORDS:
        return _day(now + timedelta(days=_DAY_WORDS[value.lower()]))
    match = _RELATIVE.fullmatch(value)
    if not match:
        return None
    n = int(match["n"]) * (1 if match["dir"].lower() == "ago" else -1)
    unit = match["unit"].lower()
    if unit in ("minute", "hour"):
        start = now - timedelta(**{unit + "s": n})
        return Moment(start, start + timedelta(minutes=1))
    if unit in ("day", "week"):
        return _day(now - timedelta(**{unit + "s": n}))
    return _day(_add_months(now, -n * (12 if unit == "year" else 1)))


def _absolute(value: str) -> Moment | None:
    for pattern in _ABSOLUTE:
        match = pattern.fullmatch(value)
        if match:
            return _from_parts(match.groupdict())
    return None


def _from_parts(parts: dict[str, str | None]) -> Moment:
    year = int(parts["y"]) if parts.get("y") else 2000 + int(parts["yy"] or 0)
    month = _MONTHS[parts["mon"].lower()] if parts.get("mon") else int(parts["m"] or 0)
    if parts.get("mon") and not parts.get("d"):
        start = datetime(year, month, 1, tzinfo=UTC)
        return Moment(start, _add_months(start, 1))
    day = datetime(year, month, int(parts["d"] or 0), tzinfo=UTC)
    if parts.get("H") is None:
        return Moment(day, day + timedelta(days=1))
    seconds = parts.get("S")
    start = day.replace(hour=int(parts["H"] or 0), minute=int(parts["M"] or 0))
    start = start.replace(second=int(seconds or 0), microsecond=_micro(parts.get("f")))
    start -= _offset(parts.get("z"))
    return Moment(start, start + timedelta(seconds=1 if seconds else 60))


def _micro(fraction: str | None) -> int:
    return int((fraction or ".0")[1:].ljust(6, "0"))


def _offset(zone: str | None) -> timedelta:
    if not zone or zone.upper() in ("Z", "UTC"):
        return timedelta(0)
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"bad offset {zone}")
    sign = 1 if zone[0] == "+" else -1
    return sign * timedelta(hours=hours, minutes=minutes)


def _day(moment: datetime) -> Moment:
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return Moment(start, start + timedelta(days=1))


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
