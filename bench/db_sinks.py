"""Database-writing output sinks for `bench/engine.py hosts --sink bench.db_sinks:sqlite|postgres`.

Each host's output goes through rex's own `OutputWriter` and `HostSink` into a freshly
migrated database, as the executor does in production. Making that database (migrations, the
job and its host runs) is not the engine's work: `python -m bench.db_sinks prepare NAME` does
it before the timed run and leaves the URL and host run ids in a state file, which the sink
factory then only reads. Without a state file the factory prepares inline.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

from rex.db import Database
from rex.outputs import HostSink, OutputWriter

FLEET = Path(os.environ.get("FLEET", "/tmp/rex-engine-fleet"))

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/rex_bench_engine"
STATE = Path(os.environ.get("REX_BENCH_OUT", "/tmp/rex-bench"))


def _state_file(name: str) -> Path:
    return STATE / f"db_sink_{name}.json"


def _prepare_sqlite() -> str:
    folder = Path(tempfile.mkdtemp(prefix="rex-bench-engine-"))
    return f"sqlite+aiosqlite:///{folder / 'rex.sqlite3'}"


def _prepare_postgres() -> str:
    from sqlalchemy import create_engine, text

    from rex.migrate import sync_url

    engine = create_engine(sync_url(PG_ADMIN), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS rex_bench_engine"))
        conn.execute(text("CREATE DATABASE rex_bench_engine"))
    engine.dispose()
    return PG_URL


def prepare(name: str) -> dict:
    """Make a migrated database with one running job and a host run per fleet host."""
    # Imported here: the timed process only opens the database, it never migrates.
    from sqlalchemy import create_engine, insert

    from rex.migrate import sync_url, upgrade
    from rex.models import HostRun, JobInvocation, utcnow

    url = {"sqlite": _prepare_sqlite, "postgres": _prepare_postgres}[name]()
    upgrade(url)
    hosts = sum(1 for line in (FLEET / "hosts.txt").read_text().splitlines() if line.strip())
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        job_id = conn.execute(insert(JobInvocation).returning(JobInvocation.id), [{
            "task_id": str(uuid.uuid4()), "job_category": "Bench", "template_name": "bench",
            "state": "running", "created_at": utcnow(), "updated_at": utcnow()}]).scalar()
        run_ids = list(conn.execute(insert(HostRun).returning(HostRun.id), [
            {"job_invocation_id": job_id, "host_name": f"h{i}", "position": i,
             "task_id": str(uuid.uuid4()), "state": "running", "queued_at": utcnow()}
            for i in range(hosts)]).scalars())
    engine.dispose()
    return {"url": url, "run_ids": run_ids}


def _prepared(name: str) -> dict:
    """Return the state `prepare` left for `name` (used once), else prepare now."""
    path = _state_file(name)
    if path.exists():
        state = json.loads(path.read_text())
        path.unlink()
        return state
    return prepare(name)


class DatabaseSinks:
    """One HostSink per fleet host, all writing through one batched OutputWriter."""

    def __init__(self, state: dict) -> None:
        self.run_ids = state["run_ids"]
        self.db = Database(state["url"])
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
    return DatabaseSinks(_prepared("sqlite"))


async def postgres() -> DatabaseSinks:
    """Sinks writing to a new PostgreSQL database."""
    return DatabaseSinks(_prepared("postgres"))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "prepare" or sys.argv[2] not in ("sqlite", "postgres"):
        sys.exit("usage: python -m bench.db_sinks prepare sqlite|postgres")
    STATE.mkdir(parents=True, exist_ok=True)
    _state_file(sys.argv[2]).write_text(json.dumps(prepare(sys.argv[2])))
