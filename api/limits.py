"""A cap on request bodies: a body over MAX_BODY bytes is a 413 and is never kept.

Plain ASGI so it costs nothing on bodiless requests. A declared Content-Length over the cap
is refused before the app runs; a chunked body is held until it ends or passes the cap. The rest of an
oversized body is read and dropped (up to DRAIN_LIMIT) so that the client, still sending,
reads the 413 instead of a reset connection; a client that sent `Expect: 100-continue` is
answered without sending its body at all.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DRAIN_LIMIT", "MAX_BODY", "BodyLimit"]

MAX_BODY = 16 * 1024 * 1024  # a large template or fact upload is a few MB
DRAIN_LIMIT = 256 * 1024 * 1024


def _message(limit: int) -> str:
    return f"Request body is larger than {limit} bytes"


async def _drain(receive: Receive, budget: int) -> bool:
    """Read and drop the rest of a body; tell whether it ended within `budget` bytes."""
    while budget >= 0:
        message = await receive()
        if message["type"] != "http.request":
            return False
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
    return False


class BodyLimit:
    """Answer 413 in Foreman's error shape to bodies over `limit` bytes."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count the bytes actually received."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            expects = headers.get(b"expect", b"").lower() == b"100-continue"
            drained = not expects and int(length) <= DRAIN_LIMIT and await _drain(
                receive, DRAIN_LIMIT)
            await self._refuse(send, close=not drained)
            return
        if b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # the server holds the body to its length
            return
        messages, size = [], 0
        while True:  # a chunked body: hold it (the app reads all of it anyway), count it
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.limit:
                drained = not message.get("more_body", False) or await _drain(
                    receive, DRAIN_LIMIT)
                await self._refuse(send, close=not drained)
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, *, close: bool) -> None:
        body = json.dumps({"error": {"message": _message(self.limit)}}).encode()
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode())]
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
