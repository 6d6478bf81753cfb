"""Output events: batched writes from running hosts, and Foreman's output reads."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rex.db import Database
from rex.models import HostRun, OutputEvent
from rex.secrets import MASK

__all__ = ["HostSink", "OutputWriter", "append_debug", "exit_line", "read_lines"]

log = logging.getLogger("rex.outputs")


class OutputWriter:
    """Collects output events and host-run endings of every running host; writes them in batches.

    Endings go through the same queue, after the host's last event, so a run is never seen
    finished before all its output is stored; `on_finished(session, run_ids)` runs inside the
    batch's transaction (the job bookkeeping).
    """

    def __init__(self, db: Database, *, max_batch: int = 2000, linger: float = 0.02,
                 on_finished=None) -> None:
        self._db = db
        self._on_finished = on_finished
        self._queue: list[dict] = []
        self._endings: list[tuple[dict, asyncio.Future]] = []
        self._wake = asyncio.Event()
        self._max_batch = max_batch
        self._linger = linger
        self._task: asyncio.Task | None = None
        self._flushed = asyncio.Condition()
        self._written = 0
        self._queued = 0

    def start(self) -> None:
        """Start the background flush loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="rex-output-writer")

    def put(self, row: dict) -> None:
        """Queue one event row for writing."""
        self._queue.append(row)
        self._queued += 1
        if len(self._queue) >= self._max_batch or not self._wake.is_set():
            self._wake.set()

    async def finish(self, values: dict) -> None:
        """Queue a host run's ending (`id` plus the columns to set); return once it is stored."""
        future = asyncio.get_running_loop().create_future()
        self._endings.append((values, future))
        self._wake.set()
        if self._task is None:
            await self._write_pending()
        await future

    async def drain(self) -> None:
        """Wait until every event queued so far is in the database."""
        target = self._queued
        if self._task is None:
            await self._write_pending()
            return
        self._wake.set()
        async with self._flushed:
            await self._flushed.wait_for(lambda: self._written >= target)

    async def close(self) -> None:
        """Write what is queued and stop the loop."""
        await self.drain()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._linger)
            self._wake.clear()
            try:
                await self._write_pending()
            except Exception:
                log.exception("writing output failed")

    async def _write_pending(self) -> None:
        while self._queue or self._endings:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            endings, self._endings = self._endings, []
            try:
                async with self._db.unit_of_work() as session:
                    if batch:
                        await session.execute(insert(OutputEvent), batch)
                    if endings:
                        await self._store_endings(session, [values for values, _ in endings])
            except Exception as exc:
                for _, future in endings:
                    if not future.done():
                        future.set_exception(exc)
                # The batch is lost, but settled: nobody may wait for it (drain, close).
                await self._settled(len(batch))
                raise
            for _, future in endings:
                if not future.done():
                    future.set_result(None)
            await self._settled(len(batch))

    async def _settled(self, count: int) -> None:
        self._written += count
        async with self._flushed:
            self._flushed.notify_all()

    async def _store_endings(self, session: AsyncSession, endings: list[dict]) -> None:
        open_ids = set(
            (await session.scalars(
                select(HostRun.id).where(
                    HostRun.id.in_([e["id"] for e in endings]), HostRun.state != "finished"
                )
            )).all()
        )
        rows = [e for e in endings if e["id"] in open_ids]
        if rows:
            await session.execute(update(HostRun), rows)
            if self._on_finished is not None:
                await self._on_finished(session, [e["id"] for e in rows])


class HostSink:
    """An engine's output sink for one host run: numbers events and scrubs secrets."""

    def __init__(self, writer: OutputWriter, host_run_id: int, secrets: Iterable[str] = (), *,
                 first_seq: int = 0) -> None:
        self._writer = writer
        self._run = host_run_id
        self._seq = first_seq
        self._last = 0.0
        self._secrets = sorted({s.encode() for s in secrets if s}, key=len, reverse=True)
        # Per stream, the end of the output so far that may be the start of a secret: held
        # back until the next chunk says whether it is (a secret split across chunks).
        self._held: dict[str, bytes] = {}

    async def emit(self, stream: str, data: bytes) -> None:
        """Queue one chunk of output with the next sequence number and a later timestamp."""
        if not data:
            return
        if stream == "debug":  # whole lines of rex's own: no secret is split across them
            for secret in self._secrets:
                data = data.replace(secret, MASK.encode())
        elif self._secrets:
            data = self._scrub(stream, data)
            if not data:
                return
        self._put(stream, data)

    def _scrub(self, stream: str, data: bytes) -> bytes:
        """Mask every secret in what was held plus `data`; hold back a possible secret start."""
        data = self._held.pop(stream, b"") + data
        for secret in self._secrets:
            data = data.replace(secret, MASK.encode())
        keep = 0
        for secret in self._secrets:
            for size in range(min(len(secret) - 1, len(data)), keep, -1):
                if data.endswith(secret[:size]):
                    keep = size
                    break
        if keep:
            self._held[stream] = data[-keep:]
            data = data[:-keep]
        return data

    async def finish(self) -> None:
        """Release what was held back: the output ended before it became a secret."""
        for stream, data in list(self._held.items()):
            del self._held[stream]
            self._put(stream, data)

    def _put(self, stream: str, data: bytes) -> None:
        now = time.time()
        self._last = now if now > self._last else self._last + 1e-6
        self._writer.put(
            {"host_run_id": self._run, "seq": self._seq, "stream": stream, "data": data,
             "timestamp": self._last}
        )
        self._seq += 1

    def debug(self, message: str) -> None:
        """Queue a debug line (synchronously; used outside the engine)."""
        data = message.encode()
        for secret in self._secrets:
            data = data.replace(secret, MASK.encode())
        self._put("debug", data)


async def append_debug(session: AsyncSession, run: HostRun, message: str) -> None:
    """Append a debug line after a run's last event (sweeps, cancels of queued hosts)."""
    last = (
        await session.execute(
            select(func.max(OutputEvent.seq), func.max(OutputEvent.timestamp)).where(
                OutputEvent.host_run_id == run.id
            )
        )
    ).one()
    seq = 0 if last[0] is None else last[0] + 1
    ts = max(time.time(), (last[1] or 0.0) + 1e-6)
    session.add(OutputEvent(host_run_id=run.id, seq=seq, stream="debug", data=message.encode(),
                            timestamp=ts))


async def read_lines(session: AsyncSession, run_id: int, since: float | None) -> list[OutputEvent]:
    """Return the run's events after `since` (exclusive), in sequence order."""
    stmt = select(OutputEvent).where(OutputEvent.host_run_id == run_id)
    if since is not None:
        stmt = stmt.where(OutputEvent.timestamp > since)
    return list((await session.scalars(stmt.order_by(OutputEvent.seq))).all())


def exit_line(run: HostRun) -> dict | None:
    """Return Foreman's closing `Exit status: N` line of a finished run."""
    if run.state != "finished" or run.finished_at is None:
        return None
    code = run.exit_status if run.exit_status is not None else "EXCEPTION"
    return {
        "output_type": "stdout",
        "output": f"Exit status: {code}",
        "timestamp": run.finished_at.timestamp(),
    }
