"""The error table: every exception becomes Foreman's error body, never a bare 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from rex.errors import (
    AccessDenied,
    BadRequest,
    ConfigurationError,
    Conflict,
    NotFound,
    ValidationFailed,
)
from search import SearchError

__all__ = ["ApiError", "error_body", "install_error_handlers"]

log = logging.getLogger("rex.api")
SEARCH_CLASS = "ScopedSearch::QueryNotSupported"


class ApiError(Exception):
    """An HTTP error raised by the API layer itself (auth, content type, paging)."""

    def __init__(self, status: int, message: str, headers: dict | None = None, **extra) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers
        self.extra = extra


def error_body(message: str, **extra) -> dict:
    """Return Foreman's error envelope `{"error": {"message": ...}}`."""
    return {"error": {"message": message, **extra}}


def _json(status: int, body: dict, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=body, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map rex's and the framework's exceptions to Foreman's bodies."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError):
        return _json(exc.status, error_body(exc.message, **exc.extra), exc.headers)

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound):
        body = error_body(exc.message)
        if exc.bare:
            body["message"] = exc.message
        return _json(404, body)

    @app.exception_handler(ValidationFailed)
    async def invalid(_request: Request, exc: ValidationFailed):
        full = [exc.message] if not exc.errors else _full_messages(exc.errors)
        return _json(422, error_body(exc.message, errors=exc.errors, full_messages=full))

    @app.exception_handler(Conflict)
    async def conflict(_request: Request, exc: Conflict):
        body = error_body(exc.message)
        if exc.bare:
            body["message"] = exc.message
        return _json(exc.status, body)

    @app.exception_handler(AccessDenied)
    async def denied(_request: Request, exc: AccessDenied):
        return _json(
            403,
            error_body("Access denied", details=exc.details, missing_permissions=exc.permissions),
        )

    @app.exception_handler(BadRequest)
    async def bad_query(_request: Request, exc: BadRequest):
        return _json(400, error_body(exc.message, **{"class": SEARCH_CLASS}))

    @app.exception_handler(SearchError)
    async def bad_search(_request: Request, exc: SearchError):
        return _json(400, error_body(str(exc), **{"class": SEARCH_CLASS}))

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            detail = "; ".join(str(e.get("ctx", {}).get("error", e.get("msg"))) for e in errors)
            message = f"There was a problem in the JSON you submitted: {detail}"
            return _json(400, {"status": 400, **error_body(message)})
        fields = {_loc(e): [e.get("msg", "is invalid")] for e in errors}
        message = "; ".join(f"{name}: {msgs[0]}" for name, msgs in fields.items())
        return _json(422, error_body(message, errors=fields, full_messages=_full_messages(fields)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "Request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = "Route not found"
        return _json(exc.status_code, error_body(message), getattr(exc, "headers", None))

    @app.exception_handler(ConfigurationError)
    async def misconfigured(_request: Request, exc: ConfigurationError):
        log.error("configuration error: %s", exc)
        return _json(500, error_body(str(exc)))

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    @app.exception_handler(RecursionError)
    async def unstorable(request: Request, exc: Exception):
        # The last net under input checks: a value the database or Python cannot hold.
        log.warning("refused a value on %s %s: %s", request.method, request.url.path,
                    _reason(exc))
        message = f"Invalid value: {_reason(exc)}"
        return _json(422, error_body(message, errors={"base": [message]},
                                     full_messages=[message]))

    @app.exception_handler(IntegrityError)
    async def conflicting(request: Request, exc: IntegrityError):
        log.warning("refused a conflicting change on %s %s", request.method, request.url.path)
        message = "The change conflicts with existing data (a duplicate or a missing reference)"
        return _json(422, error_body(message, errors={"base": [message]},
                                     full_messages=[message]))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _json(500, error_body(f"Internal error: {type(exc).__name__}"))


def _reason(exc: Exception) -> str:
    """Say what was wrong with a value without echoing it (or the SQL around it)."""
    if isinstance(exc, RecursionError):
        return "the input nests too deeply"
    if isinstance(exc, OverflowError):
        return "a number or time is out of range"
    orig = getattr(exc, "orig", None)
    primary = getattr(getattr(orig, "diag", None), "message_primary", None)
    if primary:
        return primary
    if "NUL" in str(orig):
        return "text must not contain NUL (0x00) characters"
    return "a value cannot be stored"


def _loc(error: dict) -> str:
    parts = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def _full_messages(errors: dict[str, list[str]]) -> list[str]:
    return [
        f"{name.replace('_', ' ').capitalize()} {msg}" for name, msgs in errors.items() for msg in msgs
    ]
