"""/api/jobs/trigger, /status, /logs: plain-text job triggering with a template's key.

They take their parameters from the query string, a form or a JSON body, answer plain text
(errors too), and authenticate with the template's `api_key` (or, for a template without
one, the usual Basic or Bearer credentials).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qsl

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import PlainTextResponse

from api.deps import RuntimeDep, current_user
from api.errors import ApiError
from api.openapi import PLAIN_TEXT_TAG
from rex import audits
from rex.audits import Actor
from rex.errors import AccessDenied, NotFound, RexError
from rex.models import User
from rex.triggers import TriggerError, job_for_token, log_text, status_word, trigger

router = APIRouter(tags=[PLAIN_TEXT_TAG])
ANSWERS = {200: {"description": "The answer", "content": {"text/plain": {}}}}


def plain_route(path: str, name: str, summary: str):
    """Register a handler for GET and POST of `path`, each with its own operation id."""
    def register(handler):
        for method in ("GET", "POST"):
            router.add_api_route(path, handler, methods=[method], responses=ANSWERS,
                                 response_class=PlainTextResponse, summary=summary,
                                 operation_id=f"{name}_{method.lower()}")
        return handler
    return register


async def _params(request: Request) -> dict[str, str]:
    """Merge the query string with a form or JSON body (the body wins)."""
    params = dict(request.query_params)
    if request.method != "POST":
        return params
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise TriggerError(400, "The body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise TriggerError(400, "The JSON body must be an object")
        params.update({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
    elif kind == "application/x-www-form-urlencoded":
        try:
            params.update(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise TriggerError(400, "The form is not UTF-8") from exc
    elif kind:
        raise TriggerError(400, f"Send parameters in the query string, a form "
                           f"(application/x-www-form-urlencoded) or JSON, not {kind}")
    return params


async def _answer(request: Request, work: Callable) -> PlainTextResponse:
    try:
        return PlainTextResponse(await work(await _params(request)))
    except TriggerError as exc:
        return PlainTextResponse(exc.message + "\n", status_code=exc.status)
    except AccessDenied as exc:
        return PlainTextResponse(exc.details + "\n", status_code=403)
    except NotFound as exc:
        return PlainTextResponse(str(exc) + "\n", status_code=404)
    except RexError as exc:
        return PlainTextResponse(str(exc) + "\n", status_code=400)


async def _authenticated(request: Request, runtime) -> bool:
    if not request.headers.get("authorization"):
        return False
    try:
        await current_user(request, runtime)
    except ApiError:
        return False
    return True


@plain_route("/jobs/trigger", "trigger_job", "Run a template enabled for API triggering")
async def trigger_job(request: Request, runtime: RuntimeDep, later: BackgroundTasks):
    async def work(params: dict[str, str]) -> str:
        authenticated = await _authenticated(request, runtime)
        async with runtime.db.unit_of_work() as session:
            job, token = await trigger(session, runtime, params, authenticated=authenticated,
                                       now=runtime.clock())
            # audited as the user who enabled the template, whom the job runs as
            owner = await session.get(User, job.user_id)
            address = request.client.host if request.client else None
            session.info["actor"] = lambda: Actor(owner.id, owner.login, address)
            await audits.record_job(session, action="create", job=job, triggered=True)
        later.add_task(runtime.notify_work)
        return token

    return await _answer(request, work)


@plain_route("/jobs/status", "triggered_job_status", "Status of a triggered job")
async def job_status(request: Request, runtime: RuntimeDep):
    async def work(params: dict[str, str]) -> str:
        async with runtime.db.reader() as session:
            return await status_word(session, await job_for_token(session, params))

    return await _answer(request, work)


@plain_route("/jobs/logs", "triggered_job_logs", "Log lines of a triggered job")
async def job_logs(request: Request, runtime: RuntimeDep):
    async def work(params: dict[str, str]) -> str:
        async with runtime.db.reader() as session:
            return await log_text(session, await job_for_token(session, params))

    return await _answer(request, work)
