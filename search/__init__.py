"""Foreman's host search language (scoped_search) for rex: parse, then compile to SQLAlchemy.

    node = parse("facts.osfamily = Debian and name ~ web*")      # AST, None when blank
    where = compile_query(query, registry, now=frozen_clock)      # ColumnElement[bool]

The caller hands in a `FieldRegistry`: the whitelist of names a query may use. Every bad
query raises `SearchError` with a message and the column it points at. This package imports
neither rex nor api. Semantics: SEARCH-LANGUAGE.md.
"""

from search.ast import And, Compare, In, Node, Not, Or, Present, Text, Value, dump
from search.compiler import MAX_PARAMETERS, compile_node, compile_query
from search.errors import SearchError
from search.fields import (
    DateTimeField,
    Field,
    FieldRegistry,
    IntegerField,
    KeyValueField,
    TextField,
    like_pattern,
)
from search.parser import (
    MAX_CONDITION_TOKENS,
    MAX_NESTING,
    MAX_QUERY_LENGTH,
    MAX_TOKENS,
    MAX_VALUE_LENGTH,
    parse,
)

__all__ = [
    "MAX_CONDITION_TOKENS",
    "MAX_NESTING",
    "MAX_PARAMETERS",
    "MAX_QUERY_LENGTH",
    "MAX_TOKENS",
    "MAX_VALUE_LENGTH",
    "And",
    "Compare",
    "DateTimeField",
    "Field",
    "FieldRegistry",
    "In",
    "IntegerField",
    "KeyValueField",
    "Node",
    "Not",
    "Or",
    "Present",
    "SearchError",
    "Text",
    "TextField",
    "Value",
    "compile_node",
    "compile_query",
    "dump",
    "like_pattern",
    "parse",
]
