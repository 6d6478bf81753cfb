"""ASGI middleware of Foreman's conventions: the `Apipie-Checksum` header and JSON-body GETs.

Both are plain ASGI (no BaseHTTPMiddleware): they sit on every request, polling included.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.apidoc import current_apidoc

__all__ = ["ChecksumHeader", "JsonBodyQuery"]

API_PREFIXES = ("/api/", "/foreman_tasks/api/")
MAX_GET_BODY = 1 << 20


class ChecksumHeader:
    """Add `Apipie-Checksum` (the generated document's digest) to every API response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; stamp the checksum on the response start."""
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIXES):
            await self.app(scope, receive, send)
            return
        checksum = current_apidoc(scope["app"]).checksum.encode()

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"apipie-checksum", checksum))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, stamped)


class JsonBodyQuery:
    """Read parameters of a GET from its JSON body too (nailgun sends them so).

    Top-level scalar values of a JSON object body are added to the query string; a name
    the query string already has keeps its query value.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Merge the body's parameters into the query string, then replay the body."""
        if (scope["type"] != "http" or scope["method"] != "GET"
                or not scope["path"].startswith(API_PREFIXES) or not _has_body(scope)):
            await self.app(scope, receive, send)
            return
        body, messages = await _read_body(receive)
        extra = _json_params(body)
        if extra:
            scope = {**scope, "query_string": _merged(scope["query_string"], extra)}

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def _has_body(scope: Scope) -> bool:
    headers = dict(scope.get("headers", []))
    length = headers.get(b"content-length", b"0")
    return (length.isdigit() and int(length) > 0) or b"transfer-encoding" in headers


async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    messages: list[Message] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if not message.get("more_body", False) or size > MAX_GET_BODY:
            break
    return b"".join(chunks), messages


def _json_params(body: bytes) -> dict[str, str]:
    if not body.strip() or len(body) > MAX_GET_BODY:
        return {}
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): _text(v) for k, v in data.items() if _scalar(v)}


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _merged(query_string: bytes, extra: dict[str, str]) -> bytes:
    given = {name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)}
    added = urlencode([(k, v) for k, v in extra.items() if k not in given]).encode()
    if not added:
        return query_string
    return query_string + b"&" + added if query_string else added
