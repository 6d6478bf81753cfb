"""Cron maths for recurring jobs: one pure function over croniter."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter

from rex.errors import ValidationFailed

__all__ = ["check_cron", "next_run"]


def check_cron(cron_line: str) -> None:
    """Refuse anything but a valid five-field cron line, naming the problem."""
    fields = (cron_line or "").split()
    if len(fields) != 5:
        raise ValidationFailed.field(
            "cron_line",
            f"'{cron_line}' is not valid format of cron line: expected 5 fields "
            f"(minute hour day month weekday), got {len(fields)}",
        )
    try:
        croniter(cron_line)
    except (CroniterBadCronError, CroniterError, ValueError, KeyError) as exc:
        raise ValidationFailed.field(
            "cron_line", f"'{cron_line}' is not valid format of cron line: {exc}"
        ) from exc


def next_run(cron_line: str, after: datetime, tz: str = "UTC") -> datetime | None:
    """Return the first firing strictly after `after`, reading the cron line in zone `tz`.

    Firings are wall-clock times in `tz`: a time that a DST change skips fires at the same
    offset it would have had before the change; a repeated time fires once (its first pass).
    Returns None when the line can never fire again (e.g. February 30).
    """
    zone = ZoneInfo(tz)
    wall = after.astimezone(zone).replace(tzinfo=None)
    itr = croniter(cron_line, wall)
    for _ in range(10_000):
        try:
            candidate = itr.get_next(datetime)
        except CroniterBadDateError:
            return None
        result = candidate.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if result > after:
            return result
    return None
