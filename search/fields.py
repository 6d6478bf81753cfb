"""The field whitelist: what a query may name, and how each kind of field compiles to SQL."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal, NamedTuple

from sqlalchemy import (
    BigInteger,
    Numeric,
    and_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.sql.elements import ColumnElement, Grouping

from search.ast import Value
from search.dates import Moment, parse_moment
from search.errors import SearchError

__all__ = [
    "Cond",
    "DateTimeField",
    "Field",
    "FieldRegistry",
    "IntegerField",
    "KeyValueField",
    "TextField",
    "Use",
    "combine",
    "like_pattern",
]

# Foreman names operators by these internal names in its messages.
OP_NAMES = {
    "=": "eq", "!=": "ne", "~": "like", "!~": "unlike", "<": "lt", "<=": "lte",
    ">": "gt", ">=": "gte", "^": "in", "!^": "notin",
}  # fmt: skip
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}  # fmt: skip
_LIKE = ("~", "!~")
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_INTEGER_LITERAL = re.compile(r"-?[0-9]+")  # compared numerically on facts (then range-checked)
_INT64 = 2**63
_WILDCARDS = re.compile(r"[*%]+")
_FANOUT = 32  # terms per AND/OR level; deeper lists are nested so SQLite's depth limit holds


class Cond(NamedTuple):
    """A compiled condition and whether SQL may evaluate it to NULL."""

    sql: ColumnElement[bool]
    nullable: bool


class _Nested(Grouping):
    """Parentheses SQLAlchemy keeps: a plain Grouping exposes its operator and is flattened."""

    operator = None
    inherit_cache = True


def combine(join: Callable[..., ColumnElement[bool]], conds: list[Cond]) -> Cond:
    """AND or OR conditions together as a shallow tree (SQLite limits expression depth)."""
    sqls = [c.sql for c in conds]
    while len(sqls) > _FANOUT:
        sqls = [_Nested(join(*sqls[i : i + _FANOUT])) for i in range(0, len(sqls), _FANOUT)]
    return Cond(sqls[0] if len(sqls) == 1 else join(*sqls), any(c.nullable for c in conds))


def like_pattern(text: str) -> str:
    """Build the LIKE pattern: `%text%` without wildcards, else `*` -> `%` (runs collapsed)."""
    text = text.replace("\\", "\\\\")
    if not _WILDCARDS.search(text):
        return f"%{text}%"
    return _WILDCARDS.sub("%", text)


def _like(column: Any, text: str, negated: bool) -> ColumnElement[bool]:
    pattern = like_pattern(text)
    if negated:
        return column.not_ilike(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


def _nullable(column: Any) -> bool:
    return bool(getattr(getattr(column, "expression", column), "nullable", True))


def _bad_value(value: Value, name: str, what: str = "valid") -> SearchError:
    shown = value.text if len(value.text) <= 80 else value.text[:77] + "..."
    return SearchError(
        f"Value '{shown}' is not {what} for field '{name}'", value.column, kind="bad_value"
    )


def _integer(value: Value, name: str) -> int:
    if _INTEGER.fullmatch(value.text) and abs(number := int(value.text)) < _INT64:
        return number
    raise _bad_value(value, name)


@dataclass(frozen=True)
class Use:
    """How one term uses a field: the name as written, its key, the operator's column, the clock."""

    name: str
    key: str | None
    column: int | None
    now: datetime


def _nothing(negated: bool) -> Cond:
    """The empty list: `^ ()` matches nothing, `!^ ()` everything."""
    return Cond(true() if negated else false(), False)


@dataclass(frozen=True, eq=False)
class Field:
    """A searchable field; subclasses say which operators apply and how they compile."""

    type_name: ClassVar[str] = "string"
    default_op: ClassVar[str] = "~"
    default: bool = False

    def accepts(self, op: str, text: str, now: datetime) -> bool:
        """Tell whether `op text` applies to this field when the query names no field."""
        return op not in _LIKE

    def compare(self, op: str, value: Value, use: Use) -> Cond:
        """Compile `name op value`."""
        raise self.unsupported(op, use.column)

    def member(self, values: tuple[Value, ...], negated: bool, use: Use) -> Cond:
        """Compile `name ^ (values)` or `name !^ (values)`."""
        raise self.unsupported("!^" if negated else "^", use.column)

    def presence(self, present: bool, use: Use) -> Cond:
        """Compile `set? name` (present) or `null? name`."""
        raise NotImplementedError

    def unsupported(self, op: str, column: int | None) -> SearchError:
        """Build the error for an operator this field's type does not support."""
        return SearchError(
            f"The operator '{OP_NAMES[op]}' is not supported for field type '{self.type_name}'",
            column,
            kind="bad_operator",
        )


@dataclass(frozen=True, eq=False)
class ColumnField(Field):
    """A field that is one column of the searched row."""

    column: Any = None

    def presence(self, present: bool, use: Use) -> Cond:
        """Compile `set? name` / `null? name` as IS NOT NULL / IS NULL."""
        return Cond(self.column.is_not(None) if present else self.column.is_(None), False)

    def _in(self, items: list[Any], negated: bool) -> Cond:
        if not items:
            return _nothing(negated)
        sql = self.column.not_in(items) if negated else self.column.in_(items)
        return Cond(sql, _nullable(self.column))


@dataclass(frozen=True, eq=False)
class TextField(ColumnField):
    """Text: `=` exact and case-sensitive, `~` case-insensitive LIKE, plain `<`/`>`."""

    default: bool = True

    def accepts(self, op: str, text: str, now: datetime) -> bool:
        """Tell whether `op text` applies here without a field: always, for text."""
        return True

    def compare(self, op: str, value: Value, use: Use) -> Cond:
        """Compile `name op value` on the text column."""
        if op in _LIKE:
            sql = _like(self.column, value.text, op == "!~")
        else:
            sql = _COMPARE[op](self.column, value.text)
        return Cond(sql, _nullable(self.column))

    def member(self, values: tuple[Value, ...], negated: bool, use: Use) -> Cond:
        """Compile IN / NOT IN over the text column."""
        return self._in([v.text for v in values], negated)


@dataclass(frozen=True, eq=False)
class IntegerField(ColumnField):
    """An integer column; every value must be an integer (`^-?\\d+$`)."""

    type_name: ClassVar[str] = "integer"
    default_op: ClassVar[str] = "="

    def accepts(self, op: str, text: str, now: datetime) -> bool:
        """Tell whether `op text` applies here without a field: an integer, not LIKE."""
        return op not in _LIKE and bool(_INTEGER.fullmatch(text))

    def compare(self, op: str, value: Value, use: Use) -> Cond:
        """Compile a numeric comparison; LIKE is a bad operator here."""
        if op in _LIKE:
            raise self.unsupported(op, use.column)
        return Cond(_COMPARE[op](self.column, _integer(value, use.name)), _nullable(self.column))

    def member(self, values: tuple[Value, ...], negated: bool, use: Use) -> Cond:
        """Compile IN / NOT IN; every item must be an integer."""
        return self._in([_integer(v, use.name) for v in values], negated)


@dataclass(frozen=True, eq=False)
class DateTimeField(ColumnField):
    """A UTC timestamp compared at the precision of the value (SEARCH-LANGUAGE.md 3.4)."""

    type_name: ClassVar[str] = "datetime"
    default_op: ClassVar[str] = "="

    def accepts(self, op: str, text: str, now: datetime) -> bool:
        """Tell whether `op text` applies here without a field: a date, not LIKE."""
        return op not in _LIKE and parse_moment(text, now) is not None

    def compare(self, op: str, value: Value, use: Use) -> Cond:
        """Compile a comparison against the span the date value names."""
        if op in _LIKE:
            raise self.unsupported(op, use.column)
        moment = parse_moment(value.text, use.now)
        if moment is None:
            raise _bad_value(value, use.name, "a valid date or time")
        return Cond(_date_test(self.column, op, moment), _nullable(self.column))


def _date_test(column: Any, op: str, moment: Moment) -> ColumnElement[bool]:
    start, end = moment.start, moment.end
    tests = {
        "=": lambda: and_(column >= start, column < end),
        "!=": lambda: or_(column < start, column >= end),
        ">": lambda: column > start if moment.fine else column >= end,
        "<=": lambda: column <= start if moment.fine else column < end,
        ">=": lambda: column >= start,
        "<": lambda: column < start,
    }
    return tests[op]()


@dataclass(frozen=True, eq=False)
class KeyValueField(Field):
    """`prefix.KEY` over a key/value table, one subquery per term (SEARCH-LANGUAGE.md 4).

    `owner` is the searched row's id, `ref` the table's pointer to it. With `numeric`, an
    integer value compares numerically against digits-only stored values (facts). `shape`
    "in" (`owner IN (SELECT ref ...)`) is the default: PostgreSQL runs it as a hashed subplan
    even under OR or NOT, where a correlated EXISTS is probed row by row (bench/README.md).
    """

    type_name: ClassVar[str] = "key-value"
    owner: Any = None
    ref: Any = None
    key_column: Any = None
    value_column: Any = None
    key_after: Literal["first", "last"] = "first"
    numeric: bool = False
    shape: Literal["in", "exists"] = "in"

    def key_of(self, name: str) -> str:
        """Return the key a dotted name selects (after the first or the last dot)."""
        if self.key_after == "first":
            return name.partition(".")[2]
        return name.rpartition(".")[2]

    def accepts(self, op: str, text: str, now: datetime) -> bool:
        """Key-value fields are never searched without being named."""
        return False

    def compare(self, op: str, value: Value, use: Use) -> Cond:
        """Compile a test on the value of the host's KEY; hosts without KEY never match."""
        return self._having(use.key, self._test(op, value, use.name))

    def member(self, values: tuple[Value, ...], negated: bool, use: Use) -> Cond:
        """Compile `^` as an OR of `=` and `!^` as an AND of `!=` on KEY's value."""
        if not values:
            return _nothing(negated)
        numbers, texts = self._split(values, use.name)
        tests: list[Cond] = []
        if texts:
            column = self.value_column
            tests.append(Cond(column.not_in(texts) if negated else column.in_(texts), True))
        if numbers:
            number = _as_number(self.value_column)
            tests.append(Cond(number.not_in(numbers) if negated else number.in_(numbers), True))
        return self._having(use.key, combine(and_ if negated else or_, tests).sql)

    def presence(self, present: bool, use: Use) -> Cond:
        """Compile `set?` as "the host has KEY with a value" and `null?` as its negation."""
        has = self._having(use.key, self.value_column.is_not(None))
        return has if present else Cond(not_(has.sql), False)

    def _split(self, values: tuple[Value, ...], name: str) -> tuple[list[int], list[str]]:
        numbers: list[int] = []
        texts: list[str] = []
        for value in values:
            if self.numeric and _INTEGER_LITERAL.fullmatch(value.text):
                numbers.append(_integer(value, name))
            else:
                texts.append(value.text)
        return numbers, texts

    def _test(self, op: str, value: Value, name: str) -> ColumnElement[bool]:
        if op in _LIKE:
            return _like(self.value_column, value.text, op == "!~")
        if self.numeric and _INTEGER_LITERAL.fullmatch(value.text):
            number = bindparam(None, _integer(value, name), type_=BigInteger)
            return _COMPARE[op](_as_number(self.value_column), number)
        return _COMPARE[op](self.value_column, value.text)

    def _having(self, key: str | None, test: ColumnElement[bool]) -> Cond:
        if self.shape == "exists":
            return Cond(exists().where(self.ref == self.owner, self.key_column == key, test), False)
        rows = select(self.ref).where(self.key_column == key, test)
        return Cond(self.owner.in_(rows), False)


def _as_number(column: Any) -> ColumnElement[Any]:
    """Cast digits-only text to a number; anything else becomes NULL (never an error)."""
    digits = and_(column != "", func.ltrim(column, "0123456789") == "")
    return case((digits, cast(column, Numeric)), else_=None)


class FieldRegistry:
    """The fields a query may name; free text searches those marked `default`."""

    def __init__(self, fields: Mapping[str, Field]) -> None:
        self._fields = dict(fields)

    def names(self) -> list[str]:
        """Return the declared field names (key-value fields as `name.KEY`)."""
        return [f"{n}.KEY" if isinstance(f, KeyValueField) else n for n, f in self._fields.items()]

    def defaults(self) -> Iterable[tuple[str, Field]]:
        """Return the fields free text searches, in declaration order."""
        return [(n, f) for n, f in self._fields.items() if f.default]

    def lookup(self, name: Value) -> tuple[Field, str | None]:
        """Find the field a name refers to, and its key for `prefix.KEY`; SearchError if none."""
        field = self._fields.get(name.text)
        if field is not None and not isinstance(field, KeyValueField):
            return field, None
        prefix = name.text.partition(".")[0]
        kv = self._fields.get(prefix)
        if isinstance(kv, KeyValueField) and (key := kv.key_of(name.text)):
            return kv, key
        if isinstance(kv, KeyValueField) or isinstance(field, KeyValueField):
            raise SearchError(
                f"Field '{name.text}' needs a key, as in '{prefix}.NAME'",
                name.column,
                kind="unknown_field",
            )
        raise SearchError(
            f"Field '{name.text}' not recognized for searching!", name.column, kind="unknown_field"
        )
