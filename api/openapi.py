"""rex's OpenAPI document (`/openapi.json`): FastAPI's, plus the error answers every route gives.

Every answer that is not a success has Foreman's error body, whatever the route: a bad search
or JSON (400), no or wrong credentials (401), a missing permission (403), an unknown object
(404), a body too large (413) or not JSON (415), invalid values (422). FastAPI documents only its own 422 shape, which rex never sends, so the document says
what rex really answers and declares how to authenticate.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

__all__ = ["ERROR_STATUSES", "KEEP_422", "PLAIN_TEXT_TAG", "install_openapi"]

PLAIN_TEXT_TAG = "triggers"  # routes that answer their errors as plain text
KEEP_422 = "x-rex-own-422"  # openapi_extra of a route whose 422 body is not the error body

ERROR_STATUSES = {
    "400": "Bad search query or malformed JSON",
    "401": "Not authenticated (or too many failed logins: see Retry-After)",
    "403": "A permission is missing",
    "404": "Not found",
    "405": "Not allowed on this resource (job definitions are read-only)",
    "409": "Not possible in the object's current state",
    "413": "Request body too large",
    "415": "Body is not JSON",
    "422": "Invalid values",
}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message"],
            "properties": {"message": {"type": "string"}},
        },
    },
}
SECURITY = {
    "basic": {"type": "http", "scheme": "basic",
              "description": "Login and password, or login and personal access token"},
    "bearer": {"type": "http", "scheme": "bearer", "description": "Personal access token"},
}


def _document(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    components.get("schemas", {}).pop("HTTPValidationError", None)
    components.get("schemas", {}).pop("ValidationError", None)
    components["securitySchemes"] = SECURITY
    doc["security"] = [{"basic": []}, {"bearer": []}]
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    text = {"content": {"text/plain": {"schema": {"type": "string"}}}}
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            plain = PLAIN_TEXT_TAG in operation.get("tags", ())
            for status, description in ERROR_STATUSES.items():
                if status == "422" and operation.get(KEEP_422):
                    continue  # the route documents its own 422 body
                body = text if plain and status in ("400", "401", "403", "404") else error
                responses[status] = {"description": description, **body}
    return doc


def install_openapi(app: FastAPI) -> None:
    """Serve rex's document (built once, on first request) at the app's openapi_url."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
