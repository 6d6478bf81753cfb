"""An HTTP receiver on 127.0.0.1 for tests of what rex sends out (webhooks, Http tasks)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field


@dataclass
class Receiver:
    """An HTTP receiver on 127.0.0.1: /ok answers 204, /flaky 500 twice then 200, /slow sleeps."""

    calls: list[dict] = field(default_factory=list)
    flaky_failures: int = 2
    server: asyncio.AbstractServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        lines = head.split("\r\n")
        path = lines[0].split()[1]
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
        body = await reader.readexactly(int(headers.get("content-length", 0)))
        self.calls.append({"path": path, "headers": headers, "body": body, "at": time.monotonic()})
        status = "204 No Content"
        if path == "/flaky" and self.flaky_failures:
            self.flaky_failures -= 1
            status = "500 Internal Server Error"
        if path == "/slow":
            await asyncio.sleep(10)
        writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    def bodies(self, path: str) -> list[dict]:
        return [json.loads(c["body"]) for c in self.calls if c["path"] == path]
