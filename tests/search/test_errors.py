"""Bad queries -> a SearchError whose message names the problem and the column."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rex.host_search import host_filter
from search import SearchError

NOW = datetime(2025, 6, 18, 12, 0, tzinfo=UTC)

# (query, kind, column, message without the column)
SYNTAX = [
    # rex is strict where scoped_search silently widens the target (SEARCH-LANGUAGE.md 7.1)
    ("name =", 7, "Value expected but the query ends"),
    ("name ^", 7, "Value expected but the query ends"),
    ("os = x and", 11, "Value expected but the query ends"),
    ("(os = x", 1, "Unbalanced parentheses: '(' is never closed"),
    ("((os = x)", 1, "Unbalanced parentheses: '(' is never closed"),
    ("os = x)", 7, "Unbalanced parentheses: ')' has no matching '('"),
    ("os = x) or os = y", 7, "Unbalanced parentheses: ')' has no matching '('"),
    (")", 1, "Unbalanced parentheses: ')' has no matching '('"),
    ("()", 1, "Empty parentheses: a group needs a condition"),
    ("() os = x", 1, "Empty parentheses: a group needs a condition"),
    ("not ()", 5, "Empty parentheses: a group needs a condition"),
    ("not", 4, "Value expected but the query ends"),
    ("set?", 5, "Value expected but the query ends"),
    ("a and and b", 7, "Value expected but found 'and'"),
    ("and a", 1, "Value expected but found 'and'"),
    ("a or", 5, "Value expected but the query ends"),
    ("^ (a or b)", 6, "Value expected but found 'or'"),
    ("name = and x", 8, "Value expected but found 'and'"),
    ("os = = x", 6, "Value expected but found '='"),
    ("set? = x", 6, "Value expected but found '='"),
    ("comment ~ has", 11, "Value expected but found 'has'"),
    ("x = -5", 5, "Value expected but found '-'"),
    ("a =~ b", 4, "Value expected but found '~'"),
    ("a ,", 4, "Value expected but the query ends"),
    ("a,,b", 3, "Value expected but found ','"),
    ("&", 1, "Value expected but found '&'"),
    ("|| a", 1, "Value expected but found '||'"),
    ('comment ~ "abc', 11, 'Unterminated quoted string: " is never closed'),
    ("comment ~ 'abc", 11, "Unterminated quoted string: ' is never closed"),
    ('comment ~ "ab\\"', 11, 'Unterminated quoted string: " is never closed'),
    ("name = a\x00b", 9, "Query contains a NUL character"),
]

UNKNOWN_FIELD = [
    ("foo = x", 1, "Field 'foo' not recognized for searching!"),
    ("NAME = x", 1, "Field 'NAME' not recognized for searching!"),
    ("1=0", 1, "Field '1' not recognized for searching!"),
    ("os = x and name.first = y", 12, "Field 'name.first' not recognized for searching!"),
    ("fact.osfamily = x", 1, "Field 'fact.osfamily' not recognized for searching!"),
    ("set? foo", 6, "Field 'foo' not recognized for searching!"),
    ("null? Facts.x", 7, "Field 'Facts.x' not recognized for searching!"),
    ("bar ^ (a)", 1, "Field 'bar' not recognized for searching!"),
    ("facts = x", 1, "Field 'facts' needs a key, as in 'facts.NAME'"),
    ("facts. = x", 1, "Field 'facts.' needs a key, as in 'facts.NAME'"),
    ("params.x. = x", 1, "Field 'params.x.' needs a key, as in 'params.NAME'"),
]

BAD_VALUE = [
    ("id = abc", 6, "Value 'abc' is not valid for field 'id'"),
    ("id = 1.5", 6, "Value '1.5' is not valid for field 'id'"),
    ("id > ''", 6, "Value '' is not valid for field 'id'"),
    ("id ^ (1, x)", 10, "Value 'x' is not valid for field 'id'"),
    ("id !^ (y)", 8, "Value 'y' is not valid for field 'id'"),
    ("id = 99999999999999999999", 6, "Value '99999999999999999999' is not valid for field 'id'"),
    ("id = ٣", 6, "Value '٣' is not valid for field 'id'"),
    (
        "facts.cpus > 99999999999999999999",
        14,
        "Value '99999999999999999999' is not valid for field 'facts.cpus'",
    ),
    # rex: a date that does not parse is an error, never a dropped condition (7.2)
    ("created_at > banana", 14, "Value 'banana' is not a valid date or time for field 'created_at'"),
    ("created_at = 2024-13-45", 14, "Value '2024-13-45' is not a valid date or time for field 'created_at'"),
    ("created_at = 2024-02-30", 14, "Value '2024-02-30' is not a valid date or time for field 'created_at'"),
    ("created_at > 2024", 14, "Value '2024' is not a valid date or time for field 'created_at'"),
    ('updated_at < "two days ago"', 14, "Value 'two days ago' is not a valid date or time for field 'updated_at'"),
    ('created_at = "2024-01-15 25:00"', 14, "Value '2024-01-15 25:00' is not a valid date or time for field 'created_at'"),
]  # fmt: skip

BAD_OPERATOR = [
    ("id ~ 1", 4, "The operator 'like' is not supported for field type 'integer'"),
    ("id !~ 1", 4, "The operator 'unlike' is not supported for field type 'integer'"),
    ("created_at ~ 2024-01-01", 12, "The operator 'like' is not supported for field type 'datetime'"),
    ("created_at !~ x", 12, "The operator 'unlike' is not supported for field type 'datetime'"),
    ("created_at ^ (2024-01-01)", 12, "The operator 'in' is not supported for field type 'datetime'"),
    ("updated_at !^ ()", 12, "The operator 'notin' is not supported for field type 'datetime'"),
]  # fmt: skip


def _error(query: str) -> SearchError:
    with pytest.raises(SearchError) as caught:
        host_filter(query, now=NOW)
    return caught.value


@pytest.mark.parametrize(("query", "column", "message"), SYNTAX)
def test_malformed_queries_are_syntax_errors_never_a_wider_target(query, column, message):
    error = _error(query)
    assert (error.kind, error.column, error.message) == ("syntax", column, message)
    assert str(error) == f"{message} (column {column})"


@pytest.mark.parametrize(("query", "column", "message"), UNKNOWN_FIELD)
def test_fields_outside_the_whitelist_are_not_recognized(query, column, message):
    error = _error(query)
    assert (error.kind, error.column, error.message) == ("unknown_field", column, message)


@pytest.mark.parametrize(("query", "column", "message"), BAD_VALUE)
def test_values_a_numeric_or_date_field_cannot_read_are_bad_values(query, column, message):
    error = _error(query)
    assert (error.kind, error.column, error.message) == ("bad_value", column, message)


@pytest.mark.parametrize(("query", "column", "message"), BAD_OPERATOR)
def test_operators_that_do_not_apply_to_the_field_type_are_bad_operators(query, column, message):
    error = _error(query)
    assert (error.kind, error.column, error.message) == ("bad_operator", column, message)


def test_the_message_names_the_problem_and_the_column():
    assert str(_error("name = web and (os = x")) == (
        "Unbalanced parentheses: '(' is never closed (column 16)"
    )
    assert str(_error("foo ~ x")) == "Field 'foo' not recognized for searching! (column 1)"


def test_a_long_bad_value_is_shortened_in_the_message():
    error = _error("id = " + "9" * 500)
    assert error.message == f"Value '{'9' * 77}...' is not valid for field 'id'"


def test_a_search_error_without_a_place_prints_the_message_alone():
    assert str(SearchError("Query is too long")) == "Query is too long"
