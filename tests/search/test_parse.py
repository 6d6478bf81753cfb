"""Query text -> AST: tokens, grouping and the strict grammar (SEARCH-LANGUAGE.md 1-2)."""

from __future__ import annotations

import pytest

from search import And, Compare, In, Not, Or, Present, Text, Value, dump, parse

GROUPING = [
    # and/or share one level and group to the right; juxtaposition and commas bind loosest.
    ("a and b or c", "(and a (or b c))"),
    ("a or b and c", "(or a (and b c))"),
    ("a or b c", "(and (or a b) c)"),
    ("a b or c", "(and a (or b c))"),
    ("not a and b", "(and (not a) b)"),
    ("not a b", "(and (not a) b)"),
    ("a = b > c", "(and (= a b) (> c))"),
    ("a = b, c = d", "(and (= a b) (= c d))"),
    ("name ^ (x, y) z", "(and (^ name (x y)) z)"),
    ("name ^ x, y", "(and (^ name (x)) y)"),
    ("!(a or b)", "(not (or a b))"),
    ("- - a", "(not (not a))"),
    ("a and b and c or d or e and f", "(and a b (or c d (and e f)))"),
    ("(a or b) and c", "(and (or a b) c)"),
    ("a and (b and c)", "(and a b c)"),
    ("a & b | c", "(and a (or b c))"),
    ("a && b || c", "(and a (or b c))"),
    (", a", "a"),
    ("a -b", "(and a (not b))"),
]

TOKENS = [
    # keywords are case-insensitive whole words; everything else is a plain word
    ("AND and Or", None),
    ("hash android attest", "(and hash android attest)"),
    ("set?x", "set?x"),
    ("NOT a", "(not a)"),
    ("Set? os", "(set? os)"),
    ("null? os", "(null? os)"),
    ("has os", "(set? os)"),
    ("created_at before 2024-01-01", "(< created_at 2024-01-01)"),
    ("created_at AFTER 2024-01-01", "(> created_at 2024-01-01)"),
    ("created_at at 2024-01-01", "(= created_at 2024-01-01)"),
    ("name == x", "(= name x)"),
    ("name <> x", "(!= name x)"),
    # - ! ^ " ' * % : . / are ordinary inside a word
    ("web-01", "web-01"),
    ("a-b", "a-b"),
    ("comment ~ don't", "(~ comment don't)"),
    ('comment ~ a"b', '(~ comment "a\\"b")'),
    ("facts.os::family = x", "(= facts.os::family x)"),
    ("created_at = 2024-01-15T09:30:00Z", "(= created_at 2024-01-15T09:30:00Z)"),
    ("comment ~ 50%", "(~ comment 50%)"),
    ("a!b", "a!b"),
    # rex: a word ends before != !~ !^ (os!=RedHat)
    ("os!=RedHat", "(!= os RedHat)"),
    ("os!~Red", "(!~ os Red)"),
    ("name!^(a)", "(!^ name (a))"),
    ("name^(a,b)", '(and "name^" a b)'),  # only != !~ !^ end a word
    # quoted strings: backslash escapes, empty, keywords as values, single quotes (rex)
    ('comment = "a \\" b"', '(= comment "a \\" b")'),
    ('comment = "a\\\\b"', '(= comment "a\\\\b")'),
    ('comment = ""', '(= comment "")'),
    ('comment ~ "has"', "(~ comment has)"),
    ("location = 'New York'", '(= location "New York")'),
    ("comment = 'don\\'t'", "(= comment don't)"),
    ('"name" = x', "(= name x)"),
    ('name ^ ("a,b", c)', '(^ name ("a,b" c))'),
    ("name ^ (a b   c)", "(^ name (a b c))"),
    ("name ^ ()", "(^ name ())"),
    ("name !^ ()", "(!^ name ())"),
    ("^ (a, b)", "(^ (a b))"),
    ("= RedHat", "(= RedHat)"),
    ("~ web", "(~ web)"),
    # a date phrase must be quoted, else the rest is free text
    ("created_at > 2024-01-01 10:00", "(and (> created_at 2024-01-01) 10:00)"),
    ('created_at > "2 days ago"', '(> created_at "2 days ago")'),
]


@pytest.mark.parametrize(("query", "expected"), GROUPING)
def test_and_or_group_to_the_right_and_juxtaposition_binds_loosest(query, expected):
    assert dump(parse(query)) == expected


@pytest.mark.parametrize(("query", "expected"), [t for t in TOKENS if t[1]])
def test_tokens_read_as_foreman_reads_them_plus_rex_choices(query, expected):
    assert dump(parse(query)) == expected


@pytest.mark.parametrize("query", ["", "   ", "\t\n"])
def test_a_blank_query_has_no_condition(query):
    assert parse(query) is None


def test_the_ast_is_frozen_dataclasses_that_ignore_columns_when_compared():
    node = parse("name ~ web* and not (os = RedHat or set? facts.x) id ^ (1, 2) web")
    assert node == And(
        (
            Compare(Value("name"), "~", Value("web*")),
            Not(
                Or(
                    (
                        Compare(Value("os"), "=", Value("RedHat")),
                        Present(Value("facts.x"), True),
                    )
                )
            ),
            In(Value("id"), (Value("1"), Value("2"))),
            Text(Value("web")),
        )
    )
    with pytest.raises(AttributeError):
        node.items = ()  # type: ignore[misc]


def test_nodes_carry_the_columns_errors_point_at():
    node = parse("os = x  and  facts.cpus ^ (1, 'two')")
    assert isinstance(node, And)
    first, second = node.items
    assert (first.field.column, first.column, first.value.column) == (1, 4, 6)
    assert (second.field.column, second.column) == (14, 25)
    assert [v.column for v in second.values] == [28, 31]
