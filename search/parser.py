"""Query text -> AST: the Lark grammar (loaded once), strict error reporting, a nesting limit."""

from __future__ import annotations

import re
from pathlib import Path

from lark import Lark, Token, Transformer_NonRecursive, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from search.ast import And, Compare, In, Node, Not, Or, Present, Text, Value
from search.errors import SearchError

__all__ = [
    "MAX_CONDITION_TOKENS",
    "MAX_NESTING",
    "MAX_QUERY_LENGTH",
    "MAX_TOKENS",
    "MAX_VALUE_LENGTH",
    "parse",
]

MAX_NESTING = 64  # parentheses and `not` around one condition; keeps compilers off deep stacks
MAX_QUERY_LENGTH = 1_000_000  # characters; a rerun of 30,000 hosts by name fits
MAX_VALUE_LENGTH = 10_000  # characters of one value; SQLite refuses LIKE patterns over 50,000 bytes
# Parsing costs up to ~60 µs a token, so token counts are capped while lexing, before any parse:
MAX_TOKENS = 70_000  # words and symbols in all; `name ^ (h1, ..., h30000)` (a rerun) fits
MAX_CONDITION_TOKENS = 10_000  # outside IN lists: no query that compiles needs more

_GRAMMAR = Path(__file__).with_name("grammar.lark").read_text(encoding="utf-8")
_LARK = Lark(_GRAMMAR, parser="lalr", lexer="basic", propagate_positions=True)

_VALUE_TOKENS = {"WORD", "DQ_STRING", "SQ_STRING"}
_CANONICAL_OP = {"==": "=", "<>": "!=", "before": "<", "after": ">", "at": "="}
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def parse(query: str) -> Node | None:
    """Parse a search query into its AST; None for a blank query; SearchError if it is bad."""
    _check_text(query)
    tokens = _lex(query)
    if not tokens:
        return None
    _check_parentheses(tokens)
    try:
        tree = _LARK.parse(query)
    except UnexpectedToken as exc:
        raise _token_error(exc, query, tokens) from None
    _check_nesting(tree)
    return _ToAst().transform(tree)


def _check_text(query: str) -> None:
    if len(query) > MAX_QUERY_LENGTH:
        raise SearchError(
            f"Query is too long: more than {MAX_QUERY_LENGTH} characters", None, kind="too_large"
        )
    if "\x00" in query:
        raise SearchError("Query contains a NUL character", query.index("\x00") + 1)
    try:
        query.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SearchError("Query is not valid text", exc.start + 1) from None


def _lex(query: str) -> list[Token]:
    guard = _TokenGuard()
    try:
        for token in _LARK.lex(query):
            guard.add(token)
    except UnexpectedCharacters as exc:
        column = exc.pos_in_stream + 1
        char = query[exc.pos_in_stream]
        if char in "\"'":
            raise SearchError(
                f"Unterminated quoted string: {char} is never closed", column
            ) from None
        raise SearchError(f"Unexpected character {char!r}", column) from None
    except UnexpectedInput as exc:  # pragma: no cover - the basic lexer raises the one above
        raise SearchError("Query cannot be read", None) from exc
    return guard.tokens


class _TokenGuard:
    """The limits checked token by token while lexing, so nothing huge ever reaches the parser."""

    def __init__(self) -> None:
        self.tokens: list[Token] = []
        self.in_list = False
        self.outside = 0
        self.depth = 0

    def add(self, token: Token) -> None:
        _check_value(token)
        if token.type == "LPAR" and self.tokens and self.tokens[-1].value in ("^", "!^"):
            self.in_list = True
        elif token.type == "RPAR" and self.in_list:
            self.in_list = False
        elif not self.in_list:
            self._add_outside(token)
        self.tokens.append(token)
        if len(self.tokens) > MAX_TOKENS:
            raise _too_many(f"more than {MAX_TOKENS} words and symbols", token)

    def _add_outside(self, token: Token) -> None:
        self.outside += 1
        if self.outside > MAX_CONDITION_TOKENS:
            limit = f"more than {MAX_CONDITION_TOKENS} words and symbols outside IN lists"
            raise _too_many(limit, token)
        self.depth += {"LPAR": 1, "RPAR": -1}.get(token.type, 0)
        if self.depth > MAX_NESTING:
            raise _too_deep(_column(token))
        if self.depth < 0:
            raise _unmatched(token)


def _check_parentheses(tokens: list[Token]) -> None:
    opened: list[Token] = []
    for token in tokens:
        if token.type == "LPAR":
            opened.append(token)
        elif token.type == "RPAR":
            if not opened:
                raise SearchError("Unbalanced parentheses: ')' has no matching '('", _column(token))
            opened.pop()
    if opened:
        raise SearchError("Unbalanced parentheses: '(' is never closed", _column(opened[-1]))


def _check_value(token: Token) -> None:
    if token.type in _VALUE_TOKENS and len(token.value) > MAX_VALUE_LENGTH:
        raise SearchError(
            f"Value is too long: more than {MAX_VALUE_LENGTH} characters",
            _column(token),
            kind="bad_value",
        )


def _too_many(limit: str, token: Token) -> SearchError:
    return SearchError(f"Query is too large: {limit}", _column(token), kind="too_large")


def _token_error(exc: UnexpectedToken, query: str, tokens: list[Token]) -> SearchError:
    token = exc.token
    wants_value = bool(_VALUE_TOKENS & set(exc.expected))
    if token.type == "$END":
        column = len(query.rstrip()) + 1
        if wants_value:
            return SearchError("Value expected but the query ends", column)
        return SearchError("The query ends too early", column)
    column = _column(token)
    before = [t for t in tokens if t.start_pos < token.start_pos]
    if token.type == "RPAR" and before and before[-1].type == "LPAR":
        return SearchError("Empty parentheses: a group needs a condition", column - 1)
    if wants_value:
        return SearchError(f"Value expected but found '{token.value}'", column)
    return SearchError(f"Unexpected '{token.value}'", column)


def _check_nesting(tree: Tree) -> None:
    stack: list[tuple[Tree, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if node.data in ("negation", "group"):
            depth += 1
            if depth > MAX_NESTING:
                raise _too_deep(node.meta.start_pos + 1)
        stack.extend((child, depth) for child in node.children if isinstance(child, Tree))


def _unmatched(token: Token) -> SearchError:
    return SearchError("Unbalanced parentheses: ')' has no matching '('", _column(token))


def _too_deep(column: int) -> SearchError:
    return SearchError(
        f"Query nests parentheses and 'not' more than {MAX_NESTING} levels deep", column
    )


def _column(token: Token) -> int:
    return (token.start_pos or 0) + 1


def _parts(cls: type[And | Or], node: Node) -> tuple[Node, ...]:
    return node.items if isinstance(node, cls) else (node,)


def _all(nodes: list[Node]) -> Node:
    items = tuple(part for node in nodes for part in _parts(And, node))
    return items[0] if len(items) == 1 else And(items)


class _ToAst(Transformer_NonRecursive):
    """Build AST nodes from the parse tree; `chain` folds and/or to the right."""

    def start(self, children: list) -> Node | None:
        return children[0] if children else None

    def query(self, children: list[Node]) -> Node:
        return _all(children)

    def chain(self, children: list) -> Node:
        operands, conjs = children[0::2], children[1::2]
        result: Node = operands[-1]
        index = len(conjs) - 1
        while index >= 0:
            cls = And if conjs[index] == "and" else Or
            run = list(reversed(_parts(cls, result)))
            while index >= 0 and (conjs[index] == "and") == (cls is And):
                run.extend(reversed(_parts(cls, operands[index])))
                index -= 1
            result = cls(tuple(reversed(run)))
        return result

    def conj(self, children: list[Token]) -> str:
        return "and" if children[0].value.lower() in ("and", "&", "&&") else "or"

    def group(self, children: list) -> Node:
        return _all([c for c in children if not isinstance(c, Token)])

    def negation(self, children: list) -> Not:
        neg, item = children
        return Not(item, _column(neg))

    def neg(self, children: list[Token]) -> Token:
        return children[0]

    def presence(self, children: list) -> Present:
        keyword, field = children
        return Present(field, keyword.value.lower() != "null?", _column(keyword))

    def compare(self, children: list) -> Compare:
        field = children[0] if len(children) == 3 else None
        op, value = children[-2], children[-1]
        return Compare(field, _canonical(op.value), value, _column(op))

    def member(self, children: list) -> In:
        field = children[0] if len(children) == 3 else None
        op, values = children[-2], children[-1]
        return In(field, values, op.value == "!^", _column(op))

    def text(self, children: list[Value]) -> Text:
        return Text(children[0])

    def op(self, children: list[Token]) -> Token:
        return children[0]

    def inop(self, children: list[Token]) -> Token:
        return children[0]

    def list(self, children: list) -> tuple[Value, ...]:
        return tuple(c for c in children if isinstance(c, Value))

    def value(self, children: list[Token]) -> Value:
        token = children[0]
        text = token.value
        if token.type != "WORD":
            text = _ESCAPE.sub(r"\1", text[1:-1])
        return Value(text, _column(token))


def _canonical(op: str) -> str:
    return _CANONICAL_OP.get(op.lower(), op)
