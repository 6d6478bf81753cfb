"""The output writer: batches the database refuses are dropped, and nothing waits for them."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from rex.db import Database
from rex.models import HostRun, JobInvocation, OutputEvent, utcnow
from rex.outputs import OutputWriter
from tests.dbkit import sqlite_url


def event(run_id: int, seq: int, data: bytes) -> dict:
    return {"host_run_id": run_id, "seq": seq, "stream": "stdout", "data": data,
            "timestamp": 1_700_000_000.0 + seq}


async def test_a_refused_batch_is_dropped_and_drain_and_close_still_return(tmp_path):
    db = Database(sqlite_url(tmp_path))
    async with db.unit_of_work() as session:
        job = JobInvocation(task_id=str(uuid.uuid4()), job_category="Tests", template_name="t",
                            state="running")
        session.add(job)
        await session.flush()
        run = HostRun(job_invocation_id=job.id, host_name="h", position=0,
                      task_id=str(uuid.uuid4()), state="running", queued_at=utcnow())
        session.add(run)
        await session.flush()
        run_id = run.id
    writer = OutputWriter(db)
    writer.start()
    writer.put(event(run_id, 0, b"first"))
    await writer.drain()
    writer.put(event(run_id, 0, b"same seq"))  # the unique (host_run_id, seq) refuses it
    await asyncio.wait_for(writer.drain(), 5)
    writer.put(event(run_id, 1, b"after"))
    await asyncio.wait_for(writer.close(), 5)
    async with db.reader() as session:
        rows = (await session.execute(select(OutputEvent.seq, OutputEvent.data)
                                      .order_by(OutputEvent.seq))).all()
    assert [(seq, bytes(data)) for seq, data in rows] == [(0, b"first"), (1, b"after")]
    await db.dispose()
