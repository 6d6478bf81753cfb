"""How results look: Rich tables for people, the API's own JSON for scripts."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["STATUS_STYLES", "Printer", "console", "styled"]

STATUS_STYLES = {
    "succeeded": "green", "success": "green", "failed": "red", "error": "red",
    "running": "yellow", "planned": "yellow", "pending": "yellow", "queued": "blue",
    "cancelled": "magenta", "N/A": "dim",
}


def console(*, stderr: bool = False) -> Console:
    """Return a console on stdout (or stderr); wide when not a terminal, so rows never fold."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else 200
    return Console(file=stream, markup=False, emoji=False, highlight=False, width=width)


def styled(value: Any) -> Text:
    """Return a status word coloured by what it means."""
    text = _cell(value)
    return Text(text, style=STATUS_STYLES.get(text, ""))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class Printer:
    """Print results as tables (`table`) or as the API's JSON (`json`)."""

    def __init__(self, mode: str = "table") -> None:
        self.mode = mode

    @property
    def json(self) -> bool:
        """Return whether scripts asked for JSON."""
        return self.mode == "json"

    def dump(self, data: Any) -> None:
        """Print `data` as indented JSON on stdout."""
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]],
              title: str | None = None) -> None:
        """Print rows under column headers."""
        table = Table(title=title, title_justify="left", header_style="bold")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(v if isinstance(v, Text) else Text(_cell(v)) for v in row))
        console().print(table)

    def fields(self, pairs: Iterable[tuple[str, Any]]) -> None:
        """Print `label: value` lines, labels aligned; empty values are left out."""
        pairs = [(label, value) for label, value in pairs if value not in (None, "")]
        width = max((len(label) for label, _ in pairs), default=0)
        out = console()
        for label, value in pairs:
            line = Text(f"{label + ':':<{width + 1}} ", style="bold")
            line.append(value if isinstance(value, Text) else Text(_cell(value)))
            out.print(line)

    def line(self, text: str | Text) -> None:
        """Print one line on stdout."""
        console().print(text if isinstance(text, Text) else Text(text))

    def note(self, text: str) -> None:
        """Print a remark for people on stderr (never mixed into a script's stdout)."""
        click.echo(text, err=True)

    def page_footer(self, body: dict, noun: str) -> None:
        """Say which part of a paged index was shown, when it was not all of it."""
        total, shown = body.get("subtotal", body.get("total")), len(body.get("results") or [])
        if isinstance(total, int) and total > shown:
            page = body.get("page") or 1
            self.note(f"{shown} of {total} {noun} (page {page}); see more with --page/--per-page")
