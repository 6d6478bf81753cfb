"""The FastAPI application: `create_app(settings)` builds it; nothing connects at import."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from api.apidoc import current_apidoc
from api.errors import error_body, install_error_handlers
from api.limits import BodyLimit
from api.middleware import ChecksumHeader, JsonBodyQuery
from api.openapi import install_openapi
from api.routers import (
    apidoc,
    audits,
    bookmarks,
    hosts,
    job_definitions,
    job_invocations,
    job_outputs,
    job_templates,
    jobs,
    playbooks,
    recurring_logics,
    roles,
    ssh_keys,
    status,
    tasks,
    triggers,
    users,
    vault,
    webhooks,
)
from rex import __version__
from rex.config import Settings
from rex.runtime import Runtime, open_runtime

__all__ = ["API_PREFIXES", "create_app"]

API_PREFIXES = ("/api", "/api/v2")
JSON_ONLY_PREFIXES = ("/api", "/foreman_tasks/api")
# take forms and query strings too (api/routers/triggers.py)
PLAIN_TEXT_ENDPOINTS = ("/jobs/trigger", "/jobs/status", "/jobs/logs")
ROUTERS: list[APIRouter] = [
    status.router,
    hosts.router,
    job_invocations.router,
    job_outputs.router,
    job_templates.router,
    ssh_keys.router,
    bookmarks.router,
    users.router,
    roles.router,
    audits.router,
    triggers.router,  # before jobs: /jobs/trigger is not /jobs/{id}
    jobs.router,
    vault.router,
    webhooks.router,
    playbooks.router,
    job_definitions.router,
]


def create_app(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    background: Callable[[Runtime], object] | None = None,
) -> FastAPI:
    """Build the API app; its lifespan opens the runtime and starts `background` work."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        owned = runtime is None
        app.state.runtime = runtime or await open_runtime(settings)
        current_apidoc(app)  # once, with every route in place: its checksum is in each answer
        stop = background(app.state.runtime) if background else None
        try:
            yield
        finally:
            if stop is not None:
                await stop()
            if owned:
                await app.state.runtime.close()

    app = FastAPI(title="rex", version=__version__, lifespan=lifespan)
    install_error_handlers(app)
    app.middleware("http")(require_json)
    for prefix in API_PREFIXES:
        for router in ROUTERS:
            app.include_router(router, prefix=prefix, include_in_schema=prefix == "/api")
    app.include_router(tasks.router, prefix="/foreman_tasks/api")
    app.include_router(recurring_logics.router, prefix="/foreman_tasks/api")
    app.include_router(apidoc.router)
    app.add_middleware(JsonBodyQuery)
    app.add_middleware(ChecksumHeader)
    app.add_middleware(BodyLimit)
    install_openapi(app)
    return app


async def require_json(request: Request, call_next):
    """Refuse POST/PUT bodies that are not JSON with Foreman's 415 message."""
    if request.method in ("POST", "PUT", "PATCH") and request.url.path.startswith(
        JSON_ONLY_PREFIXES
    ) and not request.url.path.endswith(PLAIN_TEXT_ENDPOINTS):
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            shown = content_type or "none"
            message = (
                f"Media type in 'Content-Type: {shown}' is unsupported in API v2 for POST and "
                "PUT requests. Please use 'Content-Type: application/json'."
            )
            return JSONResponse(status_code=415, content=error_body(message))
    return await call_next(request)
