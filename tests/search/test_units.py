"""Pure tables: date values, LIKE patterns, and the search package on a registry of its own."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table
from sqlalchemy.dialects import postgresql

from search import (
    DateTimeField,
    FieldRegistry,
    IntegerField,
    SearchError,
    TextField,
    compile_query,
    like_pattern,
)
from search.dates import parse_moment

NOW = datetime(2025, 6, 18, 12, 0, tzinfo=UTC)


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


DATES = [
    # relative day-and-longer values are midnight and span one day
    ("today", _utc(2025, 6, 18), _utc(2025, 6, 19)),
    ("Yesterday", _utc(2025, 6, 17), _utc(2025, 6, 18)),
    ("tomorrow", _utc(2025, 6, 19), _utc(2025, 6, 20)),
    ("2 days ago", _utc(2025, 6, 16), _utc(2025, 6, 17)),
    ("1 day from now", _utc(2025, 6, 19), _utc(2025, 6, 20)),
    ("3 weeks ago", _utc(2025, 5, 28), _utc(2025, 5, 29)),
    ("1 month ago", _utc(2025, 5, 18), _utc(2025, 5, 19)),
    ("2 years ago", _utc(2023, 6, 18), _utc(2023, 6, 19)),
    # relative minutes and hours are exact instants spanning one minute
    ("3 hours ago", _utc(2025, 6, 18, 9), _utc(2025, 6, 18, 9, 1)),
    ("90 MINUTES AGO", _utc(2025, 6, 18, 10, 30), _utc(2025, 6, 18, 10, 31)),
    ("1 hour from now", _utc(2025, 6, 18, 13), _utc(2025, 6, 18, 13, 1)),
    # absolute values span the smallest unit they name; zones are converted to UTC
    ("2024-01-15", _utc(2024, 1, 15), _utc(2024, 1, 16)),
    ("2024/01/15", _utc(2024, 1, 15), _utc(2024, 1, 16)),
    ("2024-1-5", _utc(2024, 1, 5), _utc(2024, 1, 6)),
    ("09-01-02", _utc(2009, 1, 2), _utc(2009, 1, 3)),
    ("2024-01-15 09:30", _utc(2024, 1, 15, 9, 30), _utc(2024, 1, 15, 9, 31)),
    ("2024-01-15T09:30:15", _utc(2024, 1, 15, 9, 30, 15), _utc(2024, 1, 15, 9, 30, 16)),
    ("2024-01-15T09:30:00Z", _utc(2024, 1, 15, 9, 30), _utc(2024, 1, 15, 9, 30, 1)),
    ("2024-01-15 09:30 +02:00", _utc(2024, 1, 15, 7, 30), _utc(2024, 1, 15, 7, 31)),
    ("2024-01-15T09:30:00-0130", _utc(2024, 1, 15, 11, 0), _utc(2024, 1, 15, 11, 0, 1)),
    ("Jan 15, 2024", _utc(2024, 1, 15), _utc(2024, 1, 16)),
    ("15 March 2024", _utc(2024, 3, 15), _utc(2024, 3, 16)),
    ("January 2024", _utc(2024, 1, 1), _utc(2024, 2, 1)),
    ("dec 2024", _utc(2024, 12, 1), _utc(2025, 1, 1)),
]

NOT_DATES = [
    "2024-13-45", "2024-02-30", "2024", "banana", "two days ago", "2 days", "days ago",
    "2024-01-15 24:00", "2024-01-15 09:60", "2024-01-15T09:30:00+25:00", "9999999 years ago",
    "", "2024-01-15 junk",
]  # fmt: skip


@pytest.mark.parametrize(("text", "start", "end"), DATES)
def test_date_values_name_a_span_at_their_own_precision(text, start, end):
    moment = parse_moment(text, NOW)
    assert moment is not None
    assert (moment.start, moment.end) == (start, end)


@pytest.mark.parametrize("text", NOT_DATES)
def test_values_that_are_not_dates_do_not_parse(text):
    assert parse_moment(text, NOW) is None


def test_months_ago_clamps_to_the_end_of_a_shorter_month():
    moment = parse_moment("1 month ago", _utc(2025, 3, 31, 8))
    assert moment is not None
    assert moment.start == _utc(2025, 2, 28)


def test_a_naive_clock_is_read_as_utc():
    moment = parse_moment("today", datetime(2025, 6, 18, 23, 0))
    assert moment is not None
    assert moment.start == _utc(2025, 6, 18)


LIKES = [
    ("web", "%web%"),
    ("web*", "web%"),
    ("*web", "%web"),
    ("db*example.com", "db%example.com"),
    ("a**b%%*c", "a%b%c"),
    ("50%", "50%"),
    ("web_01", "%web_01%"),
    ("C:\\temp", "%C:\\\\temp%"),
    ("", "%%"),
]


@pytest.mark.parametrize(("value", "pattern"), LIKES)
def test_like_values_get_substring_or_explicit_wildcards(value, pattern):
    assert like_pattern(value) == pattern


_ITEMS = Table(
    "items",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("label", String),
    Column("seen", DateTime(timezone=True)),
)
REGISTRY = FieldRegistry(
    {
        "label": TextField(column=_ITEMS.c.label),
        "number": IntegerField(column=_ITEMS.c.id, default=True),
        "seen": DateTimeField(column=_ITEMS.c.seen, default=True),
    }
)


def _sql(query: str) -> str:
    expression = compile_query(query, REGISTRY, now=NOW)
    return str(expression.compile(dialect=postgresql.dialect()))


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("abc", ["label"]),
        ("42", ["label", "id"]),
        ("2024-01-15", ["label", "seen"]),
        ("~ 42", ["label"]),
        ("> 42", ["label", "id"]),
        ("^ (1, x)", ["label", "id"]),
    ],
)
def test_free_text_joins_numeric_and_date_defaults_only_when_the_value_fits(query, fields):
    sql = _sql(query)
    assert [c for c in ("label", "id", "seen") if f"items.{c}" in sql] == fields


def test_a_registry_lists_its_fields_and_rejects_the_rest():
    assert REGISTRY.names() == ["label", "number", "seen"]
    with pytest.raises(SearchError, match="Field 'id' not recognized"):
        compile_query("id = 1", REGISTRY)


def test_the_search_package_imports_neither_rex_nor_api():
    code = (
        "import sys, search; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('rex', 'api')); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
