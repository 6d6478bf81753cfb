"""Client side of the wrapper protocol: one exec channel, and the ordered output pump.

`Exec` is an asyncssh session by duck typing (`conn.create_session(lambda: exec_, cmd)`),
so asyncssh stays imported by `rex.ssh` alone. The protocol itself is described in
`rex.wrapper`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from typing import Any

from rex.wrapper import (
    EVENT_ENV,
    EVENT_INTEGRITY,
    EVENT_MKDIR,
    EVENT_NOEXEC,
    EVENT_NOHASH,
    EVENT_RUNTIME,
    EVENT_STDIN,
    RemotePlan,
)

__all__ = ["Exec", "Pump"]

log = logging.getLogger("rex.ssh")


_STDERR = 1  # SSH extended data type of stderr
_PROMPT = re.compile(rb"(?i)(password|passwort|passphrase)[^\n]*:\s*$")
_HIGH_WATER = 4 << 20  # bytes queued for the sink before the channel stops reading
_LOW_WATER = 1 << 20


class Pump:
    """Delivers a host's output chunks to its sink in arrival order, pausing the channel if behind."""

    def __init__(self, sink: Any) -> None:
        self._sink = sink
        self._queue: deque[tuple[str, bytes]] = deque()
        self._queued = 0
        self._task: asyncio.Task | None = None
        self._paused = False
        self.channel: Any = None

    def put(self, stream: str, data: bytes) -> None:
        """Queue one chunk for the sink."""
        if not data:
            return
        self._queue.append((stream, data))
        self._queued += len(data)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._deliver())
        if self._queued > _HIGH_WATER and self.channel is not None and not self._paused:
            self._paused = True
            self.channel.pause_reading()

    def debug(self, message: str) -> None:
        """Queue a debug line."""
        self.put("debug", message.encode())

    async def flush(self) -> None:
        """Return once every queued chunk reached the sink."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _deliver(self) -> None:
        while self._queue:
            stream, data = self._queue.popleft()
            self._queued -= len(data)
            if self._paused and self._queued < _LOW_WATER:
                self._paused = False
                self.channel.resume_reading()
            try:
                await self._sink.emit(stream, data)
            except Exception:
                log.exception("output sink failed; a chunk of %s was lost", stream)


def _settle(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


class Exec:
    """Client side of one exec channel: separates the wrapper's control lines and the
    effective-user prompt from the script's output, and answers the prompt once.

    An asyncssh session by duck typing (`create_session(lambda: exec_, command)`), so
    asyncssh stays imported by `rex.ssh` alone.
    """

    def __init__(self, plan: RemotePlan, pump: Pump | None, password: str | None, *,
                 main: bool) -> None:
        loop = asyncio.get_running_loop()
        self.plan, self.pump, self.password, self.main = plan, pump, password, main
        self.closed = loop.create_future()
        self.settled = loop.create_future()  # closed, or failed before the script started
        self.started_or_closed = loop.create_future()
        self.started = False
        self.failure: tuple[str, str] | None = None
        self.exit_status: int | None = None
        self.exit_signal: str | None = None
        self._pre = bytearray()
        self._prompts = 0
        self._env_sent = False
        self._chan: Any = None

    # asyncssh session interface
    def connection_made(self, chan: Any) -> None:
        """Keep the channel."""
        self._chan = chan
        if self.pump is not None:
            self.pump.channel = chan

    def session_started(self) -> None:
        """Nothing to do."""

    def xon_xoff_requested(self, client_can_do: bool) -> None:
        """Nothing to do."""

    def pause_writing(self) -> None:
        """Nothing to do: stdin is small."""

    def resume_writing(self) -> None:
        """Nothing to do: stdin is small."""

    def eof_received(self) -> bool:
        """Let the channel close once the remote side is done."""
        return False

    def exit_status_received(self, status: int) -> None:
        """Record the exit status."""
        self.exit_status = status

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        """Record the signal that ended the remote side."""
        self.exit_signal = signal

    def connection_lost(self, exc: Exception | None) -> None:
        """Mark the channel closed."""
        for future in (self.closed, self.settled, self.started_or_closed):
            _settle(future)

    def data_received(self, data: bytes, datatype: int | None) -> None:
        """Route stdout to the sink; inspect stderr until the script has started."""
        if datatype != _STDERR:
            if self.pump is not None:
                self.pump.put("stdout", data)
        elif self.started:
            self.pump.put("stderr", data)
        else:
            self._pre += data
            if self.main and self.plan.env_payload and not self._env_sent:
                self._send_env()
            at = self._pre.find(self.plan.start_line) if self.main else -1
            if at >= 0:
                self._start(at)
            else:
                self._check_prompt()

    # rex side
    def send(self, data: bytes) -> None:
        """Write to the remote stdin, unless the channel is gone already."""
        with contextlib.suppress(Exception):
            self._chan.write(data)

    @property
    def opened(self) -> bool:
        """Tell whether the channel was opened at all."""
        return self._chan is not None

    def close_stdin(self) -> None:
        """Send EOF on the remote stdin (a waiting sudo then fails instead of hanging)."""
        with contextlib.suppress(Exception):
            self._chan.write_eof()

    def _start(self, at: int) -> None:
        rest = bytes(self._pre[at + len(self.plan.start_line):])
        noise = bytes(self._pre[:at]).strip()
        self._pre.clear()
        self.started = True
        _settle(self.started_or_closed)
        self.close_stdin()
        if noise:
            self.pump.put("stderr", noise + b"\n")
        self.pump.put("stderr", rest)

    def _send_env(self) -> None:
        """Answer the wrapper's request for the environment (variables and secrets)."""
        line = f"{self.plan.marker}:{EVENT_ENV}\n".encode()
        at = self._pre.find(line)
        if at < 0:
            return
        del self._pre[at:at + len(line)]
        self._env_sent = True
        self.send(self.plan.env_payload)

    def _check_prompt(self) -> None:
        if self.plan.effective_user is None:
            return
        line_start = self._pre.rfind(b"\n") + 1
        tail = bytes(self._pre[line_start:])
        prompt = (self.plan.prompt or "").encode()
        if not ((prompt and tail.endswith(prompt)) or _PROMPT.search(tail)):
            return
        del self._pre[line_start:]
        self._prompts += 1
        user, method = self.plan.effective_user, self.plan.method
        if self.password is None:
            self._fail(f"Effective user password required for {method} to {user}")
        elif self._prompts > 1:
            self._fail(f"Failed to change to effective user {user} with {method}: "
                       "the password was not accepted")
        else:
            self.send(self.password.encode() + b"\n")

    def _fail(self, message: str) -> None:
        if self.failure is None:
            self.failure = ("effective_user", message)
        self.close_stdin()
        _settle(self.settled)

    def early_failure(self, working_dir: str, where: str) -> tuple[str, str]:
        """Explain why the channel closed before the script started: (kind, debug line)."""
        events, detail = set(), []
        for line in bytes(self._pre).decode(errors="replace").splitlines():
            if line.startswith(f"{self.plan.marker}:"):
                events.add(line.split(":", 1)[1])
            elif line.strip():
                detail.append(line.strip())
        text = "; ".join(detail) or f"exit status {self.exit_status}"
        if EVENT_MKDIR in events:
            return ("working_dir", (f"Cannot write to {working_dir}: it is missing or not "
                    "writable; set remote_execution_remote_working_dir"))
        if EVENT_NOEXEC in events:
            return ("working_dir", (f"Cannot execute in {working_dir} (noexec?): "
                    "set remote_execution_remote_working_dir"))
        if EVENT_NOHASH in events:
            return ("integrity", (f"Cannot check the script on {where}: none of sha512sum, "
                    "shasum -a 512 or openssl dgst -sha512 works there"))
        if EVENT_INTEGRITY in events:
            return ("integrity", (f"The script written on {where} does not match the SHA-512 "
                    "rex sent; refusing to run it"))
        if EVENT_RUNTIME in events:
            return ("runtime", f"Runtime {self.plan.runtime} not found on {where}")
        if EVENT_STDIN in events:
            return ("connection", f"The script did not reach {where} completely: {text}")
        if self.plan.effective_user is not None:
            return ("effective_user", (f"Failed to change to effective user "
                    f"{self.plan.effective_user} with {self.plan.method}: {text}"))
        return ("connection", f"The script could not be started on {where}: {text}")
