"""rex's exception tree; the API maps each class to one HTTP status.

    RexError
    ├── NotFound            a resource is unknown (404)
    ├── ValidationFailed    input breaks a rule (422), with per-field errors
    ├── Conflict            the action does not fit the current state (422)
    ├── AccessDenied        a permission is missing (403)
    ├── BadRequest          a query parameter cannot be understood (400)
    │   (search.SearchError, a query that cannot be parsed or compiled, is also a 400)
    └── ConfigurationError  rex cannot start as configured
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "BadRequest",
    "ConfigurationError",
    "Conflict",
    "NotFound",
    "RexError",
    "ValidationFailed",
]


class RexError(Exception):
    """Base of every error rex raises on purpose."""


class NotFound(RexError):
    """A resource looked up by id or name does not exist."""

    def __init__(self, message: str, *, bare: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.bare = bare


class ValidationFailed(RexError):
    """Input breaks a rule; `errors` maps field names to messages."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}

    @classmethod
    def field(cls, name: str, problem: str) -> ValidationFailed:
        """Build the error for one field, Foreman style (`Name has already been taken`)."""
        label = name.replace("_", " ").capitalize()
        return cls(f"{label} {problem}", {name: [problem]})


class Conflict(RexError):
    """The action is not possible in the resource's current state."""

    def __init__(self, message: str, *, bare: bool = False, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.bare = bare
        self.status = status  # Foreman answers 422; rex's own APIs say 409


class AccessDenied(RexError):
    """The user lacks a permission (or, with `details`, may not act on that object)."""

    def __init__(self, permissions: list[str], details: str | None = None) -> None:
        super().__init__("Access denied")
        self.permissions = permissions
        self.details = details or "Missing one of the required permissions: " + ", ".join(
            permissions
        )


class ConfigurationError(RexError):
    """rex cannot start with the given settings."""


class BadRequest(RexError):
    """A request parameter (order, search) cannot be understood."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
