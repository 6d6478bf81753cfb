"""The one error of the search language: a user-facing message plus the column it points at."""

from __future__ import annotations

__all__ = ["SearchError"]


class SearchError(Exception):
    """A query rex will not run.

    `kind` is one of `syntax`, `unknown_field`, `bad_value`, `bad_operator`, `too_large`;
    `column` is 1-based (a character offset into the query), or None when no place applies.
    """

    def __init__(self, message: str, column: int | None = None, *, kind: str = "syntax") -> None:
        super().__init__(message, column)
        self.message = message
        self.column = column
        self.kind = kind

    def __str__(self) -> str:
        if self.column is None:
            return self.message
        return f"{self.message} (column {self.column})"
