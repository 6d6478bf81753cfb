#!/usr/bin/env python3
# ruff: noqa: ASYNC221 - a benchmark driver may block its loop while it starts processes
"""End-to-end job benchmark through rex's API, next to bare asyncssh on the same fleet.

    bench/api_jobs.py fleet [--hosts 500] [--runs 3] [--db sqlite|postgres]
    bench/api_jobs.py polling [--hosts 10000] [--samples 200] [--db sqlite|postgres]

`fleet` starts ../shared/bench/fleet.sh with N hosts, starts `rex serve` (worker included)
as a subprocess with the fleet's key and user, registers the hosts through the API, warms
up once (host keys are stored on first contact), then alternates: one job of `true` on all
hosts through the API (POST, then poll show with include_hosts=false until done) and one
run of ../shared/bench/tools/asyncssh_raw.py, same concurrency (100) and key. It prints the
median wall times, the ratio, and rex's peak RSS and CPU.

`polling` registers N hosts that point at a closed port on 127.0.0.1, runs one job on all of
them (they fail fast), then measures the median latency of polling the finished job's show
(include_hosts=false) and one host's output, as a client would every second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = Path(os.environ.get("REX_BENCH_SHARED", ROOT.parent / "shared" / "bench"))
FLEET = Path(os.environ.get("FLEET", "/tmp/fleet"))
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-admin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(kind: str, data: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{data / 'rex.sqlite3'}"
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN.replace("+psycopg", "+psycopg"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS rex_bench_api"))
        conn.execute(text("CREATE DATABASE rex_bench_api"))
    engine.dispose()
    return "postgresql+psycopg://postgres@127.0.0.1:5432/rex_bench_api"


class RexServer:
    """`rex serve` in a subprocess with its own data dir."""

    def __init__(self, db: str, *, key: Path | None, user: str | None, concurrency: int = 100,
                 worker: bool = True):
        self.data = Path(tempfile.mkdtemp(prefix="rex-bench-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url(db, self.data)
        env = {**os.environ, "REX_DATA_DIR": str(self.data), "REX_ADMIN_PASSWORD": PASSWORD,
               "REX_DATABASE_URL": self.database_url,
               "REX_WORKER_CONCURRENCY": str(concurrency), "REX_CONNECT_TIMEOUT": "60"}
        if db != "sqlite":
            from cryptography.fernet import Fernet

            env["REX_SECRET_KEY"] = Fernet.generate_key().decode()
        if key:
            env["REX_SSH_IDENTITY_FILE"] = str(key)
        elif db != "sqlite":
            env["REX_SSH_IDENTITY_FILE"] = str(FLEET / "client_ed25519")
        if user:
            env["REX_SSH_USER"] = env["REX_EFFECTIVE_USER"] = user
        self.env = env
        self.rex = Path(sys.executable).with_name("rex")
        command = [str(self.rex), "serve", "--port", str(self.port)]
        if not worker:
            command.append("--no-worker")
        self.log = self.data / "rex-serve.log"
        with self.log.open("wb") as log:  # a file, not a pipe nobody reads: it never fills up
            self.proc = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        self.client = httpx.AsyncClient(base_url=self.url, auth=("admin", PASSWORD), timeout=600)

    async def ready(self) -> None:
        for _ in range(300):
            try:
                if (await self.client.get("/api/status")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                raise SystemExit(f"rex serve exited: {self.log.read_text()[-2000:]}")
            await asyncio.sleep(0.1)
        raise SystemExit("rex serve did not answer")

    def usage(self) -> tuple[float, float]:
        """Return (peak RSS MB, CPU seconds) of the server process."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return hwm / 1024, cpu

    async def stop(self) -> None:
        await self.client.aclose()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        errors = [line for line in self.log.read_text(errors="replace").splitlines()
                  if "Traceback" in line or "ERROR" in line]
        if errors:
            print(f"rex serve logged {len(errors)} error lines, e.g. {errors[0]}", file=sys.stderr)
        shutil.rmtree(self.data, ignore_errors=True)


async def add_hosts(api: httpx.AsyncClient, hosts: list[tuple[str, int]], prefix: str) -> None:
    sem = asyncio.Semaphore(16)

    async def one(i: int, address: str, port: int) -> None:
        body = {"host": {"name": f"{prefix}{i:05d}.bench", "ip": address,
                         "host_parameters_attributes": [
                             {"name": "remote_execution_ssh_port", "value": str(port)}]}}
        async with sem:
            response = await api.post("/api/hosts", json=body)
            response.raise_for_status()

    await asyncio.gather(*(one(i, a, p) for i, (a, p) in enumerate(hosts)))


async def run_job(api: httpx.AsyncClient, query: str, command: str = "true") -> tuple[float, dict]:
    start = time.perf_counter()
    created = await api.post("/api/job_invocations", params={"include_hosts": "false"}, json={
        "job_invocation": {"feature": "run_script", "search_query": query,
                           "inputs": {"command": command}}})
    created.raise_for_status()
    job_id = created.json()["id"]
    while True:
        job = (await api.get(f"/api/job_invocations/{job_id}",
                             params={"include_hosts": "false"})).json()
        if job["status_label"] not in ("queued", "running"):
            return time.perf_counter() - start, job
        await asyncio.sleep(0.25)


def insert_closed_hosts(url: str, count: int) -> None:
    """Insert hosts that point at a closed port on 127.0.0.1 straight into the database."""
    from sqlalchemy import create_engine, insert

    from rex.migrate import sync_url
    from rex.models import Host, HostParameter, utcnow

    engine = create_engine(sync_url(url))
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(Host), [
            {"name": f"closed{i:05d}.bench", "ip": "127.0.0.1", "created_at": now, "updated_at": now}
            for i in range(count)])
        ids = [row[0] for row in conn.execute(Host.__table__.select().with_only_columns(Host.id))]
        conn.execute(insert(HostParameter), [
            {"host_id": i, "name": "remote_execution_ssh_port", "value": "1", "created_at": now,
             "updated_at": now} for i in ids])
    engine.dispose()


def bare_asyncssh() -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(SHARED / "tools" / "asyncssh_raw.py"), "true", "100"], check=False,
                          capture_output=True, text=True, env={**os.environ, "FLEET": str(FLEET)})
    wall = time.perf_counter() - start
    if "failed=0" not in done.stdout:
        print(done.stdout, done.stderr[-2000:], file=sys.stderr)
    return wall


async def fleet(args) -> None:
    subprocess.run(["bash", str(SHARED / "fleet.sh"), "start", str(args.hosts)], check=True,
                   stdout=subprocess.DEVNULL)
    lines = [line.split() for line in (FLEET / "hosts.txt").read_text().splitlines() if line]
    user = lines[0][2]
    server = RexServer(args.db, key=FLEET / "client_ed25519", user=user)
    try:
        await server.ready()
        await add_hosts(server.client, [(a, int(p)) for a, p, _ in lines], "fleet")
        warm, job = await run_job(server.client, "name ~ fleet*")
        print(f"warm-up (stores {args.hosts} host keys): {warm:.2f}s, {job['succeeded']} ok")
        rex_walls, raw_walls = [], []
        for _ in range(args.runs):
            raw_walls.append(bare_asyncssh())
            wall, job = await run_job(server.client, "name ~ fleet*")
            assert job["succeeded"] == args.hosts, job
            rex_walls.append(wall)
        rss, cpu = server.usage()
        rex, raw = statistics.median(rex_walls), statistics.median(raw_walls)
        print("| db | hosts | bare asyncssh (s) | rex via API (s) | ratio | rex peak RSS (MB) | rex CPU (s, all runs) |")
        print("|---|--:|--:|--:|--:|--:|--:|")
        print(f"| {args.db} | {args.hosts} | {raw:.2f} | {rex:.2f} | {rex / raw:.2f}x | {rss:.0f} | {cpu:.1f} |")
    finally:
        await server.stop()
        subprocess.run(["bash", str(SHARED / "fleet.sh"), "stop"], check=False,
                       stdout=subprocess.DEVNULL)


async def polling(args) -> None:
    server = RexServer(args.db, key=None, user="nobody", concurrency=200)
    try:
        await server.ready()
        t0 = time.perf_counter()
        insert_closed_hosts(server.database_url, args.hosts)
        print(f"inserted {args.hosts} hosts in {time.perf_counter() - t0:.1f}s")
        wall, job = await run_job(server.client, "name ~ closed*")
        print(f"job of {job['total']} host runs finished in {wall:.1f}s ({job['failed']} failed)")
        show, output = [], []
        path = f"/api/job_invocations/{job['id']}"
        host = f"closed{args.hosts // 2:05d}.bench"
        for _ in range(args.samples):
            t = time.perf_counter()
            r = await server.client.get(path, params={"include_hosts": "false"})
            show.append(time.perf_counter() - t)
            t = time.perf_counter()
            o = await server.client.get(f"{path}/hosts/{host}")
            output.append(time.perf_counter() - t)
            assert r.status_code == 200 and o.status_code == 200
        print("| db | host runs | show include_hosts=false median (ms) | one host output median (ms) |")
        print("|---|--:|--:|--:|")
        print(f"| {args.db} | {args.hosts} | {statistics.median(show) * 1000:.1f} | "
              f"{statistics.median(output) * 1000:.1f} |")
    finally:
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    f = sub.add_parser("fleet")
    f.add_argument("--hosts", type=int, default=500)
    f.add_argument("--runs", type=int, default=3)
    f.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p = sub.add_parser("polling")
    p.add_argument("--hosts", type=int, default=10000)
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    asyncio.run(fleet(args) if args.mode == "fleet" else polling(args))


if __name__ == "__main__":
    main()
