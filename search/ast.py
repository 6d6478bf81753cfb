"""The query AST: small frozen dataclasses. Columns are 1-based and ignored by `==`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

__all__ = ["And", "Compare", "In", "Node", "Not", "Or", "Present", "Text", "Value", "dump"]

OPS = ("=", "!=", "~", "!~", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class Value:
    """A word or quoted string, unescaped; also used for field names."""

    text: str
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Compare:
    """`field op value`; `field` None applies `op` to the default fields."""

    field: Value | None
    op: str
    value: Value
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class In:
    """`field ^ (values)` or, with `negated`, `field !^ (values)`."""

    field: Value | None
    values: tuple[Value, ...]
    negated: bool = False
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Present:
    """`set? field` / `has field` (present) or `null? field` (not present)."""

    field: Value
    present: bool = True
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Text:
    """A bare value: free text over the default fields."""

    value: Value


Node = And | Or | Not | Compare | In | Present | Text

_BARE = re.compile(r"[\w.:/@*%?!'-]+")


def _v(value: Value) -> str:
    return value.text if _BARE.fullmatch(value.text) else json.dumps(value.text)


def dump(node: Node | None) -> str:
    """Render an AST as a compact s-expression, e.g. `(and (= name x) (not web))`."""
    match node:
        case None:
            return "()"
        case And(items) | Or(items):
            name = "and" if isinstance(node, And) else "or"
            return f"({name} {' '.join(dump(i) for i in items)})"
        case Not(item):
            return f"(not {dump(item)})"
        case Compare(fld, op, value):
            return f"({op} {_v(fld) + ' ' if fld else ''}{_v(value)})"
        case In(fld, values, negated):
            items = " ".join(_v(v) for v in values)
            return f"({'!^' if negated else '^'} {_v(fld) + ' ' if fld else ''}({items}))"
        case Present(fld, present):
            return f"({'set?' if present else 'null?'} {_v(fld)})"
        case Text(value):
            return _v(value)
    raise TypeError(f"not a search node: {node!r}")
