"""Database-writing output sinks for `bench/engine.py hosts --sink bench.db_sinks:sqlite|postgres`.

Each host's output goes through rex's own `OutputWriter` and `HostSink` into a freshly
migrated database, as the executor does in production.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, insert, text

from bench.api_jobs import FLEET
from rex.db import Database
from rex.migrate import sync_url, upgrade
from rex.models import HostRun, JobInvocation, utcnow
from rex.outputs import HostSink, OutputWriter

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/rex_bench_engine"


class DatabaseSinks:
    """One HostSink per fleet host, all writing through one batched OutputWriter."""

    def __init__(self, url: str) -> None:
        upgrade(url)
        hosts = sum(1 for line in (FLEET / "hosts.txt").read_text().splitlines() if line.strip())
        engine = create_engine(sync_url(url))
        with engine.begin() as conn:
            job_id = conn.execute(insert(JobInvocation).returning(JobInvocation.id), [{
                "task_id": str(uuid.uuid4()), "job_category": "Bench", "template_name": "bench",
                "state": "running", "created_at": utcnow(), "updated_at": utcnow()}]).scalar()
            self.run_ids = list(conn.execute(insert(HostRun).returning(HostRun.id), [
                {"job_invocation_id": job_id, "host_name": f"h{i}", "position": i,
                 "task_id": str(uuid.uuid4()), "state": "running", "queued_at": utcnow()}
                for i in range(hosts)]).scalars())
        engine.dispose()
        self.db = Database(url)
        self.writer = OutputWriter(self.db)
        self.writer.start()

    def sink(self, index: int) -> HostSink:
        """Return the sink of host `index`."""
        return HostSink(self.writer, self.run_ids[index])

    async def aclose(self) -> None:
        """Write what is queued and close the database."""
        await self.writer.close()
        await self.db.dispose()


async def sqlite() -> DatabaseSinks:
    """Sinks writing to a new SQLite file."""
    folder = Path(tempfile.mkdtemp(prefix="rex-bench-engine-"))
    return DatabaseSinks(f"sqlite+aiosqlite:///{folder / 'rex.sqlite3'}")


async def postgres() -> DatabaseSinks:
    """Sinks writing to a new PostgreSQL database."""
    engine = create_engine(sync_url(PG_ADMIN), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS rex_bench_engine"))
        conn.execute(text("CREATE DATABASE rex_bench_engine"))
    engine.dispose()
    return DatabaseSinks(PG_URL)
