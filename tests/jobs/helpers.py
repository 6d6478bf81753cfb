"""Small steps the job tests share: hosts on sshd, creating jobs, waiting for them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path


async def add_host(api, name: str, sshd_host, **params) -> dict:
    """Register an sshd host under `name` (address 127.0.0.1, its port as a parameter)."""
    attrs = [{"name": "remote_execution_ssh_port", "value": str(sshd_host.port)}]
    attrs += [{"name": k, "value": v} for k, v in params.items()]
    response = await api.post("/api/hosts", json={"host": {
        "name": name, "ip": sshd_host.address, "host_parameters_attributes": attrs}})
    assert response.status_code == 201, response.text
    return response.json()


async def run_command(api, command: str, query: str, **extra) -> dict:
    """Create a "Run Command - Script Default" job on `query`."""
    body = {"feature": "run_script", "search_query": query, "inputs": {"command": command},
            **extra}
    response = await api.post("/api/job_invocations", json={"job_invocation": body})
    assert response.status_code == 201, response.text
    return response.json()


async def wait_job(api, job_id: int, timeout: float = 60) -> dict:
    """Poll the job like hammer does until it is neither queued nor running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = await api.get(f"/api/job_invocations/{job_id}",
                                 params={"include_hosts": "false"})
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status_label"] not in ("queued", "running"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['status_label']} after {timeout}s")


async def wait_until(predicate, timeout: float = 30, step: float = 0.1):
    """Wait until `await predicate()` is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(step)
    raise AssertionError("condition not met in time")


async def process_ended(pid: int) -> bool:
    """Tell whether process `pid` has ended (gone, or a zombie waiting for its parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


async def file_has_words(path: Path, n: int) -> bool:
    """Tell whether `path` exists and holds at least `n` whitespace-separated words."""
    return path.exists() and len(path.read_text().split()) >= n
