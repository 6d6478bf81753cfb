"""AST -> SQLAlchemy boolean expression, through the caller's field registry."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, false, func, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from search.ast import And, Compare, In, Node, Not, Or, Present, Text, Value
from search.errors import SearchError
from search.fields import Cond, Field, FieldRegistry, Use, combine
from search.parser import parse

__all__ = ["MAX_PARAMETERS", "compile_node", "compile_query"]

# Bound values one query may use: below SQLite's 32,766 and PostgreSQL's 65,535 per statement.
MAX_PARAMETERS = 30_000
_PER_TERM = 4  # an upper bound of the values one comparison binds (key, value, helpers)


def compile_query(
    query: str, registry: FieldRegistry, *, now: datetime | None = None
) -> ColumnElement[bool]:
    """Compile a search query to a WHERE condition; a blank query is `true()`."""
    node = parse(query)
    if node is None:
        return true()
    return compile_node(node, registry, now=now)


def compile_node(
    node: Node, registry: FieldRegistry, *, now: datetime | None = None
) -> ColumnElement[bool]:
    """Compile a parsed query to a WHERE condition."""
    clock = now or datetime.now(UTC)
    if clock.tzinfo is None:
        clock = clock.replace(tzinfo=UTC)
    return _Compiler(registry, clock).node(node).sql


class _Compiler:
    def __init__(self, registry: FieldRegistry, now: datetime) -> None:
        self.registry = registry
        self.now = now
        self.spent = 0

    def node(self, node: Node) -> Cond:
        match node:
            case And(items):
                return combine(and_, [self.node(i) for i in items])
            case Or(items):
                return combine(or_, [self.node(i) for i in items])
            case Not(item):
                return _negate(self.node(item))
            case Compare(None, op, value, column):
                return self.defaults(op, value, column)
            case Compare(name, op, value, column):
                self.spend(_PER_TERM, column)
                field, use = self.lookup(name, column)
                return field.compare(op, value, use)
            case In(None, values, negated, column):
                return self.default_members(values, negated, column)
            case In(name, values, negated, column):
                self.spend(len(values) + _PER_TERM, column)
                field, use = self.lookup(name, column)
                return field.member(values, negated, use)
            case Present(name, present, column):
                self.spend(_PER_TERM, column)
                field, use = self.lookup(name, column)
                return field.presence(present, use)
            case Text(value):
                return self.defaults(None, value, value.column)
        raise TypeError(f"not a search node: {node!r}")

    def lookup(self, name: Value, column: int | None) -> tuple[Field, Use]:
        field, key = self.registry.lookup(name)
        return field, Use(name.text, key, column, self.now)

    def defaults(self, op: str | None, value: Value, column: int | None) -> Cond:
        """Apply `op value` (free text: each field's own operator) to the default fields."""
        conds = []
        for name, field in self.registry.defaults():
            field_op = op or field.default_op
            if field.accepts(field_op, value.text, self.now):
                self.spend(_PER_TERM, column)
                use = Use(name, None, column, self.now)
                conds.append(field.compare(field_op, value, use))
        return combine(or_, conds) if conds else Cond(false(), False)

    def default_members(self, values: tuple[Value, ...], negated: bool, column: int | None) -> Cond:
        """Apply `^ (values)` / `!^ (values)` to the default fields each value suits."""
        if not values:
            return Cond(true() if negated else false(), False)
        conds = []
        for name, field in self.registry.defaults():
            fits = tuple(v for v in values if field.accepts("=", v.text, self.now))
            if fits:
                self.spend(len(fits) + _PER_TERM, column)
                conds.append(field.member(fits, negated, Use(name, None, column, self.now)))
        return combine(or_, conds) if conds else Cond(false(), False)

    def spend(self, count: int, column: int | None) -> None:
        self.spent += count
        if self.spent > MAX_PARAMETERS:
            raise SearchError(
                f"Query is too large: it needs more than {MAX_PARAMETERS} values",
                column,
                kind="too_large",
            )


def _negate(cond: Cond) -> Cond:
    """`not X` keeps every row where X is not true, NULLs included (NOT COALESCE(X, false))."""
    if cond.nullable:
        return Cond(not_(func.coalesce(cond.sql, false())), False)
    return Cond(not_(cond.sql), False)
