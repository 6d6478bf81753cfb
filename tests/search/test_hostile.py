"""Hostile queries end in a SearchError or a result, never a crash (both databases)."""

from __future__ import annotations

import random
import time

import pytest
from sqlalchemy import func, select

from rex.host_search import host_filter
from rex.models import Host
from search import (
    MAX_CONDITION_TOKENS,
    MAX_NESTING,
    MAX_QUERY_LENGTH,
    MAX_TOKENS,
    MAX_VALUE_LENGTH,
    SearchError,
)
from tests.search.hosts import ALL, NOW, matching, seed

DEEP = 5_000


def _error(query: str) -> SearchError:
    with pytest.raises(SearchError) as caught:
        host_filter(query, now=NOW)
    return caught.value


@pytest.mark.parametrize(
    "query",
    [
        "(" * DEEP + "web" + ")" * DEEP,
        "not " * DEEP + "web",
        "- " * DEEP + "web",
        "!(" * DEEP + "web" + ")" * DEEP,
        "(" * DEEP + "name ^ (a)" + ")" * DEEP,
    ],
    ids=["parentheses", "not", "minus", "bang-group", "around-a-list"],
)
def test_nesting_beyond_the_limit_is_an_error_not_a_recursion_error(query):
    error = _error(query)
    assert error.kind == "syntax"
    assert error.message == (
        f"Query nests parentheses and 'not' more than {MAX_NESTING} levels deep"
    )
    assert error.column is not None


def test_the_nesting_limit_is_exact():
    host_filter("(" * MAX_NESTING + "web" + ")" * MAX_NESTING)
    host_filter("not " * MAX_NESTING + "web")
    assert (
        _error("(" * (MAX_NESTING + 1) + "web" + ")" * (MAX_NESTING + 1)).column == MAX_NESTING + 1
    )
    assert _error("- " * (MAX_NESTING + 1) + "web").column == 2 * MAX_NESTING + 1


@pytest.mark.parametrize(
    ("query", "kind", "column"),
    [
        ("(" * 100_000, "syntax", MAX_NESTING + 1),
        (")" * 100_000, "syntax", 1),
        ("web " * 25_000, "too_large", None),
        ("a and " * 20_000 + "b", "too_large", None),
        ("name ~ " + "x" * 100_000, "bad_value", 8),
        ('comment = "' + "y" * (MAX_VALUE_LENGTH + 1) + '"', "bad_value", 11),
        ("x" * (MAX_QUERY_LENGTH + 1), "too_large", None),
        ('"' * 99_999, "too_large", 2 * MAX_CONDITION_TOKENS + 1),
        ("name = web\x00", "syntax", 11),
        ("name = \ud800", "syntax", 8),
    ],
    ids=[
        "open-parens", "close-parens", "many-words", "long-and-chain", "long-word",
        "long-string", "over-length", "odd-quotes", "nul", "lone-surrogate",
    ],
)  # fmt: skip
def test_huge_or_broken_queries_are_refused_with_a_reason(query, kind, column):
    error = _error(query)
    assert error.kind == kind
    if column is not None:
        assert error.column == column


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("a " * 499_999, f"more than {MAX_CONDITION_TOKENS} words and symbols outside IN lists"),
        ("(a)" * 333_333, f"more than {MAX_CONDITION_TOKENS} words and symbols outside IN lists"),
        ("name ^ (" + "a " * 499_000 + ")", f"more than {MAX_TOKENS} words and symbols"),
    ],
    ids=["words", "groups", "list"],
)
def test_a_megabyte_of_tiny_terms_is_refused_before_parsing(query, message):
    started = time.perf_counter()
    error = _error(query)
    assert (error.kind, error.message) == ("too_large", f"Query is too large: {message}")
    assert time.perf_counter() - started < 2  # lexing stops at the limit; parsing would take ~60 s


async def test_queries_at_the_limits_run_on_both_databases(database):
    await seed(database)
    half = MAX_NESTING // 2  # `not (` is two levels
    nested = "not (" * half + "os = RedHat or os = Ubuntu" + ")" * half
    assert await matching(database, nested) == await matching(
        database, "os = RedHat or os = Ubuntu"
    )
    nested = "(" * MAX_NESTING + "os = RedHat" + ")" * MAX_NESTING
    assert await matching(database, nested) == await matching(database, "os = RedHat")
    wide = "name ^ (" + ", ".join(f"host{i:06}.example.com" for i in range(5_000)) + ")"
    assert len(wide) > 100_000
    assert await matching(database, wide + " or name = db01.example.com") == {"db01.example.com"}
    many = " or ".join(f"id = {i}" for i in range(3, 2_003))
    assert await matching(database, many) == ALL - {"web01.example.com", "web02.example.com"}
    terms = " ".join(f"-zz{i}" for i in range(1_200))
    assert await matching(database, terms) == ALL


INJECTIONS = [
    "name = \"x' OR '1'='1\"",
    "name = x';DROP TABLE hosts;--",
    'comment ~ "%\' OR 1=1 --"',
    '"facts.x\' OR 1=1 --" = 1',
    "params.\"env' OR '1'='1\" = prod",
    'name ^ ("a\'); DELETE FROM hosts; --", b)',
    'created_at > "2024-01-01\'; DROP TABLE hosts; --"',
    "'; DROP TABLE hosts; --",
]


async def test_sql_fragments_are_only_ever_values(database):
    await seed(database)
    for query in INJECTIONS:
        try:
            assert await matching(database, query) == set(), query
        except SearchError:
            pass
    async with database.reader() as session:
        assert await session.scalar(select(func.count()).select_from(Host)) == len(ALL)


_SOUP = [
    "(", ")", ",", "=", "==", "!=", "<>", "~", "!~", "<", "<=", ">", ">=", "^", "!^", "&", "&&",
    "|", "||", "!", "-", "and", "or", "not", "set?", "null?", "has", "before", "after", "at",
    "name", "os", "id", "facts.cpus", "params.env", "created_at", "web*", "4", '"a b"', "'c'",
    '"', "'", "today", "2024-01-01", "%", "_", "\\", "☃", "é",
]  # fmt: skip


async def test_random_token_soup_never_crashes(database):
    await seed(database)
    rng = random.Random(20250618)
    outcomes = {"error": 0, "result": 0}
    for _ in range(300):
        query = " ".join(rng.choice(_SOUP) for _ in range(rng.randint(1, 12)))
        try:
            await matching(database, query)
        except SearchError as error:
            assert error.message and str(error)
            outcomes["error"] += 1
        else:
            outcomes["result"] += 1
    assert outcomes["error"] and outcomes["result"]
