"""Scale-out on PostgreSQL: `rex worker` processes share the work and survive a crash."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from rex.services import start_background
from tests.apikit import start_server
from tests.dbkit import postgres_url
from tests.jobs.conftest import rex_settings
from tests.jobs.helpers import add_host, file_has_words, process_ended, wait_job, wait_until

pytestmark = [pytest.mark.sshd, pytest.mark.postgres]

REX = Path(sys.executable).with_name("rex")


def worker_env(settings, name: str) -> dict:
    """The environment of a `rex worker` process sharing the test server's database."""
    return {
        **os.environ,
        "REX_DATABASE_URL": settings.database_url,
        "REX_SECRET_KEY": settings.secret_key,
        "REX_SSH_IDENTITY_FILE": str(settings.ssh_identity_file),
        "REX_SSH_USER": settings.ssh_user,
        "REX_EFFECTIVE_USER": settings.effective_user,
        "REX_REMOTE_WORKING_DIR": settings.remote_working_dir,
        "REX_LEASE_SECONDS": "2",
        "REX_POLL_INTERVAL": "0.1",
        "REX_WORKER_CONCURRENCY": "10",
        "REX_DATA_DIR": str(settings.data_dir),
        "REX_WORKER_NAME": name,
        "REX_PASSWORD_HASH_MEMORY_KIB": "1024",
    }


def start_worker(env: dict) -> subprocess.Popen:
    """Start a `rex worker` process with `env`."""
    return subprocess.Popen([str(REX), "worker"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


@pytest.fixture
async def api_only(tmp_path, sshd_rig):
    """An API-only rex (`serve --no-worker`: sweeps, no executor) on PostgreSQL."""
    settings = rex_settings(tmp_path, postgres_url(), sshd_rig)
    server = await start_server(settings, background=lambda rt: start_background(rt, worker=False))
    yield server, settings
    await server.stop()


async def test_a_killed_worker_loses_its_hosts_and_the_other_finishes_the_job(api_only, sshd_rig):
    server, settings = api_only
    api = server.client
    hosts = [sshd_rig.start_host() for _ in range(4)]
    ledger = sshd_rig.workdir() / f"ledger-{os.getpid()}.log"
    ledger.unlink(missing_ok=True)
    try:
        for i in range(40):
            await add_host(api, f"w{i:02d}.example.com", hosts[i % 4])
        template = await api.post("/api/job_templates", json={"job_template": {
            "name": "Ledger", "job_category": "Tests", "provider_type": "SSH",
            "template": f"echo {{{{ host.name }}}} >> {ledger}; sleep 2"}})
        assert template.status_code == 201, template.text
        workers = [start_worker(worker_env(settings, f"w{n}")) for n in (1, 2)]
        job = (await api.post("/api/job_invocations", json={"job_invocation": {
            "job_template_id": template.json()["id"], "search_query": "name ~ w*"}})).json()
        await wait_until(lambda: file_has_words(ledger, 12), timeout=30)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        done = await wait_job(api, job["id"], timeout=90)
        counts = Counter(ledger.read_text().split())
        assert max(counts.values()) == 1, "a script ran twice"
        assert (done["total"], done["pending"]) == (40, 0)
        assert done["succeeded"] + done["failed"] == 40
        assert 1 <= done["failed"] <= 10
        rows = (await api.get(f"/api/job_invocations/{job['id']}/hosts",
                              params={"per_page": "all"})).json()["results"]
        lost = [r["name"] for r in rows if r["job_status"] == "error"]
        first = (await api.get(f"/api/job_invocations/{job['id']}/hosts/{lost[0]}")).json()
        assert first["output"][-2]["output"].startswith("Worker w1 was lost while running this host")
        succeeded = {r["name"] for r in rows if r["job_status"] == "success"}
        assert set(counts) == succeeded | {n for n in lost if n in counts}
        workers[1].send_signal(signal.SIGTERM)
        assert workers[1].wait(30) == 0
    finally:
        for proc in locals().get("workers", []):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for host in hosts:
            sshd_rig.stop_host(host)


async def test_sigterm_stops_a_worker_gracefully(api_only, sshd_rig, sshd_host):
    server, settings = api_only
    api = server.client
    await add_host(api, "slow.example.com", sshd_host)
    pid_file = sshd_rig.workdir() / f"graceful-{os.getpid()}.pid"
    pid_file.unlink(missing_ok=True)
    env = {**worker_env(settings, "w-graceful"), "REX_SHUTDOWN_GRACE": "1"}
    worker = start_worker(env)
    try:
        job = (await api.post("/api/job_invocations", json={"job_invocation": {
            "feature": "run_script", "search_query": "name = slow.example.com",
            "inputs": {"command": f"sleep 300 & echo $! > {pid_file}; wait"}}})).json()
        await wait_until(lambda: file_has_words(pid_file, 1), timeout=30)
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.wait, 20) == 0
        done = (await api.get(f"/api/job_invocations/{job['id']}")).json()
        assert (done["pending"], done["cancelled"]) == (0, 1), done
        assert done["status_label"] == "failed"
        pid = int(pid_file.read_text())
        await wait_until(lambda: process_ended(pid), timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
