"""Parse what people type: hammer's `k=v,k2='v, 2'` lists, inputs files, times, booleans."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

__all__ = ["iso_time", "key_values", "load_inputs", "to_bool"]

QUOTES = "'\""
TRUE = {"true", "yes", "1", "on"}
FALSE = {"false", "no", "0", "off"}


def key_values(text: str) -> dict[str, str]:
    """Parse `k=v,k2="v, 2"` into a dict; quotes keep commas and spaces, `\\` escapes."""
    result: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        key, pos = _key(text, pos)
        value, pos = _value(text, pos)
        result[key] = value
    return result


def _key(text: str, pos: int) -> tuple[str, int]:
    equals = text.find("=", pos)
    comma = text.find(",", pos)
    if equals < 0 or 0 <= comma < equals:
        item = text[pos:comma if comma >= 0 else None].strip()
        raise click.BadParameter(
            f"{item!r} is not key=value (quote values that hold commas: command='echo a, b')"
        )
    key = text[pos:equals].strip()
    if not key:
        raise click.BadParameter(f"a value has no key at position {pos + 1} of {text!r}")
    return key, equals + 1


def _value(text: str, pos: int) -> tuple[str, int]:
    start = _skip_spaces(text, pos)
    if start < len(text) and text[start] in QUOTES:
        value, end = _quoted(text, start)
        end = _skip_spaces(text, end)
        if end < len(text) and text[end] != ",":
            raise click.BadParameter(f"unexpected {text[end:]!r} after a quoted value")
        return value, end + 1
    comma = text.find(",", pos)
    end = len(text) if comma < 0 else comma
    return text[pos:end].strip(), end + 1


def _quoted(text: str, start: int) -> tuple[str, int]:
    quote, chars, pos = text[start], [], start + 1
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text) and text[pos + 1] in (quote, "\\"):
            chars.append(text[pos + 1])
            pos += 2
        elif char == quote:
            return "".join(chars), pos + 1
        else:
            chars.append(char)
            pos += 1
    raise click.BadParameter(f"unterminated {quote} quote in {text!r}")


def _skip_spaces(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] == " ":
        pos += 1
    return pos


def load_inputs(inputs: str | None, inputs_file: Path | None) -> dict:
    """Merge `--inputs-file` (a JSON object) with `--inputs` (which wins)."""
    merged: dict = {}
    if inputs_file is not None:
        try:
            data = json.loads(inputs_file.read_text())
        except (OSError, ValueError) as exc:
            raise click.BadParameter(f"cannot read {inputs_file}: {exc}",
                                     param_hint="'--inputs-file'") from exc
        if not isinstance(data, dict):
            raise click.BadParameter("must hold a JSON object {\"name\": \"value\"}",
                                     param_hint="'--inputs-file'")
        merged.update(data)
    if inputs:
        try:
            merged.update(key_values(inputs))
        except click.BadParameter as exc:
            exc.param_hint = "'--inputs'"
            raise
    return merged


def iso_time(value: str, hint: str) -> str:
    """Check an ISO 8601 time (no offset means UTC); return it in the API's form."""
    text = value.strip()
    if text.lower() == "now":
        return datetime.now(UTC).isoformat(timespec="seconds")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time like 2025-03-01T10:00:00+01:00",
            param_hint=hint,
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def to_bool(value: str, what: str) -> bool:
    """Read a yes/no word (true/false, yes/no, 1/0, on/off)."""
    word = str(value).strip().lower()
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise click.BadParameter(f"{what} must be true or false, not {value!r}")
