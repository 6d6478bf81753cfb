"""Cron firings: month ends, DST changes, bad lines."""

from datetime import UTC, datetime

import pytest

from rex.errors import ValidationFailed
from rex.recurrence import check_cron, next_run


def at(*parts):
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    "cron, after, expected",
    [
        ("* * * * *", at(2026, 1, 1, 10, 0, 30), at(2026, 1, 1, 10, 1)),
        ("* * * * *", at(2026, 1, 1, 10, 1), at(2026, 1, 1, 10, 2)),
        ("0 0 31 * *", at(2026, 2, 1), at(2026, 3, 31)),
        ("0 0 29 2 *", at(2026, 1, 1), at(2028, 2, 29)),
        ("0 12 L * *", at(2026, 2, 1), at(2026, 2, 28, 12)),
        ("30 23 * * *", at(2026, 12, 31, 23, 45), at(2027, 1, 1, 23, 30)),
    ],
)
def test_next_run_in_utc(cron, after, expected):
    assert next_run(cron, after) == expected


def test_spring_forward_skipped_hour_fires_once_after_the_gap():
    # Europe/Berlin skips 02:00-03:00 on 2026-03-29.
    first = next_run("30 2 * * *", at(2026, 3, 28, 12), "Europe/Berlin")
    assert first == at(2026, 3, 29, 1, 30)  # 03:30 CEST, just after the gap
    assert next_run("30 2 * * *", first, "Europe/Berlin") == at(2026, 3, 30, 0, 30)


def test_fall_back_repeated_hour_fires_once():
    # Europe/Berlin repeats 02:00-03:00 on 2026-10-25.
    first = next_run("30 2 * * *", at(2026, 10, 24, 12), "Europe/Berlin")
    second = next_run("30 2 * * *", first, "Europe/Berlin")
    assert first == at(2026, 10, 25, 0, 30)  # 02:30 CEST, the first pass
    assert second == at(2026, 10, 26, 1, 30)  # not 02:30 CET an hour later


def test_hourly_across_dst_never_goes_backwards():
    moment = at(2026, 10, 24, 22)
    seen = []
    for _ in range(8):
        moment = next_run("0 * * * *", moment, "Europe/Berlin")
        seen.append(moment)
    assert seen == sorted(seen) and len(set(seen)) == len(seen)


@pytest.mark.parametrize("line, words", [
    ("foo", "expected 5 fields"),
    ("* * * *", "got 4"),
    ("61 * * * *", "not valid"),
    ("* * * * * *", "got 6"),
    ("", "got 0"),
])
def test_bad_cron_lines_are_422_naming_the_problem(line, words):
    with pytest.raises(ValidationFailed) as caught:
        check_cron(line)
    assert words in caught.value.message
    assert "cron_line" in caught.value.errors
