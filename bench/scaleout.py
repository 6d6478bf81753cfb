#!/usr/bin/env python3
# ruff: noqa: ASYNC220, ASYNC221 - a benchmark driver may block its loop while it starts processes
"""Scale-out benchmark on PostgreSQL: throughput with 1 and 2 workers, claim cost, refill gap.

    bench/scaleout.py [--runs 2000] [--fleet 200] [--workers 1,2] [--level 5]

1. throughput: ../shared/bench/fleet.sh starts `--fleet` sshd hosts; `--runs` host entries
   point at them (each fleet host reused); `rex serve --no-worker` plus K `rex worker`
   processes share one PostgreSQL database; one job of `true` on every entry goes through
   the API; prints wall time and host runs per second for each K.
2. claim cost: an in-process worker claims `--runs` queued host runs in batches of 100 and
   prints the database time per claimed host run (target < 5 ms).
3. refill gap: a job with concurrency_level `--level` of `sleep 0.2` on 100 entries; for each
   host that starts after the first window, the time from the finish that freed its slot to
   its start; prints the median (target < 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.api_jobs import FLEET, SHARED, RexServer, run_job
from rex.migrate import sync_url
from rex.models import Host, HostParameter, HostRun, JobInvocation, utcnow


def insert_fleet_entries(url: str, count: int) -> None:
    """Register `count` host entries pointing round-robin at the fleet's sshd hosts."""
    lines = [line.split() for line in (FLEET / "hosts.txt").read_text().splitlines() if line]
    engine = create_engine(sync_url(url))
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(Host), [
            {"name": f"run{i:05d}.bench", "ip": lines[i % len(lines)][0], "created_at": now,
             "updated_at": now} for i in range(count)])
        hosts = conn.execute(select(Host.id, Host.name)).all()
        conn.execute(insert(HostParameter), [
            {"host_id": hid, "name": "remote_execution_ssh_port", "created_at": now,
             "updated_at": now, "value": lines[int(name[3:8]) % len(lines)][1]}
            for hid, name in hosts])
    engine.dispose()


async def throughput(args, workers: int, user: str) -> None:
    server = RexServer("postgres", key=FLEET / "client_ed25519", user=user, worker=False)
    procs = []
    try:
        await server.ready()
        insert_fleet_entries(server.database_url, args.runs)
        for n in range(workers):
            env = {**server.env, "REX_WORKER_NAME": f"bench-w{n}"}
            procs.append(subprocess.Popen([str(server.rex), "worker"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        await run_job(server.client, "name = run00000.bench")  # warm up: store host keys
        warm = await run_job(server.client, f"name ~ run* and id <= {min(args.runs, 300)}")
        wall, job = await run_job(server.client, "name ~ run*")
        assert job["succeeded"] == args.runs, job
        print(f"| {workers} | {args.runs} | {wall:.2f} | {args.runs / wall:.0f} | (warm-up {warm[0]:.1f}s) |")
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        await server.stop()


async def claim_cost(args) -> None:
    from rex.config import Settings
    from rex.executor import Worker
    from rex.runtime import open_runtime

    url = "postgresql+psycopg://postgres@127.0.0.1:5432/rex_bench_api"
    from bench.api_jobs import database_url

    database_url("postgres", Path("/tmp"))
    from cryptography.fernet import Fernet

    settings = Settings(database_url=url, secret_key=Fernet.generate_key().decode(),
                        admin_password="x", data_dir=Path("/tmp/rex-bench-claims"),
                        worker_concurrency=100)
    runtime = await open_runtime(settings)
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        job_id = conn.execute(insert(JobInvocation).returning(JobInvocation.id), [{
            "task_id": str(uuid.uuid4()), "job_category": "Bench", "template_name": "x",
            "state": "planned", "created_at": utcnow(), "updated_at": utcnow()}]).scalar()
        conn.execute(insert(HostRun), [
            {"job_invocation_id": job_id, "host_name": f"c{i}", "position": i,
             "task_id": str(uuid.uuid4()), "queued_at": utcnow()} for i in range(args.runs)])
    worker = Worker(runtime, engine=None, name="bench-claims")
    while True:
        ids = await worker._claim(100)
        if not ids:
            break
        with engine.begin() as conn:
            conn.execute(text("UPDATE host_runs SET state='finished' WHERE id = ANY(:ids)"),
                         {"ids": ids})
    per_run = worker.claim_seconds / max(worker.claimed, 1) * 1000
    print(f"| claim | {worker.claimed} host runs | {worker.claim_seconds * 1000:.0f} ms in all | "
          f"{per_run:.2f} ms per host run |")
    engine.dispose()
    await runtime.close()


async def refill_gap(args, user: str) -> None:
    server = RexServer("postgres", key=FLEET / "client_ed25519", user=user)
    try:
        await server.ready()
        insert_fleet_entries(server.database_url, 100)
        await run_job(server.client, "name ~ run*")  # store host keys first
        created = await server.client.post("/api/job_invocations", json={"job_invocation": {
            "feature": "run_script", "search_query": "name ~ run*", "inputs": {"command": "sleep 0.2"},
            "concurrency_control": {"concurrency_level": args.level}}})
        job_id = created.json()["id"]
        while (await server.client.get(f"/api/job_invocations/{job_id}")).json()["status_label"] in (
                "queued", "running"):
            await asyncio.sleep(0.1)
        engine = create_engine(sync_url(server.database_url))
        with engine.connect() as conn:
            rows = conn.execute(select(HostRun.started_at, HostRun.finished_at)
                                .where(HostRun.job_invocation_id == job_id)).all()
        engine.dispose()
        starts = sorted(r[0] for r in rows)
        finishes = sorted(r[1] for r in rows)
        gaps = [(starts[args.level + k] - finishes[k]).total_seconds() * 1000
                for k in range(len(starts) - args.level)]
        print(f"| refill gap, concurrency_level {args.level} | median {statistics.median(gaps):.1f} ms "
              f"| p90 {sorted(gaps)[int(len(gaps) * 0.9)]:.1f} ms |")
    finally:
        await server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--fleet", type=int, default=200)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--level", type=int, default=5)
    args = parser.parse_args()
    await claim_cost(args)
    subprocess.run(["bash", str(SHARED / "fleet.sh"), "start", str(args.fleet)], check=True,
                   stdout=subprocess.DEVNULL)
    user = (FLEET / "hosts.txt").read_text().split()[2]
    try:
        print("| workers | host runs | wall (s) | host runs/s | |")
        print("|--:|--:|--:|--:|---|")
        for workers in (int(w) for w in args.workers.split(",")):
            await throughput(args, workers, user)
        await refill_gap(args, user)
    finally:
        subprocess.run(["bash", str(SHARED / "fleet.sh"), "stop"], check=False,
                       stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    asyncio.run(main())
