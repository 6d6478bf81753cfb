"""The executor: claims queued host runs, renders their scripts and runs them over SSH."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload

from rex.hosts import parameter_values
from rex.integrity import digest, tampered
from rex.jobs import finish_job_if_done
from rex.known_hosts import DatabaseKnownHosts
from rex.models import Host, HostRun, JobInvocation, JobTemplate
from rex.outputs import HostSink, OutputWriter
from rex.rendering import HostContext, RenderError, render_script
from rex.retries import retry_failed_runs
from rex.runtime import Runtime
from rex.segments import run_segments
from rex.ssh import CancelToken, Engine, HostResult, HostTarget
from rex.vault import Environment, secret_values
from rex.webhooks import execution_events

__all__ = ["Worker"]

log = logging.getLogger("rex.executor")

TRUE_WORDS = ("1", "true", "yes", "on")
METHODS = ("sudo", "su", "dzdo")


@dataclass
class Prepared:
    """A claimed host run, ready to run (target) or already failed (error)."""

    target: HostTarget | None
    secrets: list[str]
    error: str | None = None
    error_kind: str | None = None
    first_seq: int = 0  # a host tried again while offline continues its output
    script_sha512: str | None = None  # of the rendered script sent to the host
    segments: list | None = None  # shell parts and HTTP requests in order (rex.segments)


class Worker:
    """Runs host runs from the database under a global concurrency limit."""

    def __init__(self, runtime: Runtime, engine: Engine, *, name: str | None = None,
                 known_hosts: DatabaseKnownHosts | None = None) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.engine = engine
        self.known_hosts = known_hosts
        self.name = name or self.settings.worker_name or f"{socket.gethostname()}:{os.getpid()}"
        self.writer = OutputWriter(runtime.db, on_finished=self._jobs_of_finished)
        self.inflight: dict[int, asyncio.Task] = {}
        self.tokens: dict[int, CancelToken] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self.claim_seconds = 0.0  # database time spent claiming, for the benchmarks
        self.claimed = 0

    def wake(self) -> None:
        """Look for new work now (after a job is created or a host finishes)."""
        self._wake.set()

    async def run_forever(self) -> None:
        """Claim and run work until `stop()`; also heartbeat leases and watch for cancels."""
        self.writer.start()
        housekeeping = asyncio.create_task(self._housekeeping())
        try:
            while not self._stopping:
                try:
                    await self._claim_and_start()
                except Exception:  # a failed claim is retried on the next tick
                    log.exception("claiming work failed")
                try:
                    await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval)
                except TimeoutError:
                    pass
                self._wake.clear()
        finally:
            housekeeping.cancel()
            await asyncio.gather(housekeeping, return_exceptions=True)

    async def run_until_idle(self) -> None:
        """Burst mode: run everything runnable now, return when nothing is left."""
        self.writer.start()
        while True:
            started = await self._claim_and_start()
            if not started and not self.inflight:
                break
            if self.inflight:
                await asyncio.wait(list(self.inflight.values()), return_when=asyncio.FIRST_COMPLETED)
        await self.writer.drain()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming; let in-flight hosts finish within `grace`, then cancel them."""
        self._stopping = True
        self._wake.set()
        if self.inflight:
            _done, pending = await asyncio.wait(list(self.inflight.values()), timeout=grace)
            for run_id in list(self.tokens):
                self.tokens[run_id].cancel(f"rex (worker {self.name} is shutting down)", force=True)
            if pending:
                await asyncio.wait(pending, timeout=5)
        await self.writer.close()

    async def _claim_and_start(self) -> int:
        capacity = self.settings.worker_concurrency - len(self.inflight)
        if capacity <= 0 or self._stopping:
            return 0
        claimed = await self._claim(capacity)
        if not claimed:
            return 0
        prepared = await self._prepare(claimed)
        if isinstance(self.known_hosts, DatabaseKnownHosts):
            await self.known_hosts.prime(
                {p.target.endpoint for p in prepared.values() if p.target}
            )
        for run_id in claimed:
            self.inflight[run_id] = asyncio.create_task(
                self._execute(run_id, prepared[run_id]), name=f"host-run-{run_id}"
            )
        return len(claimed)

    async def _claim(self, capacity: int) -> list[int]:
        started = time.perf_counter()
        claimed = await self._claim_batch(capacity)
        self.claim_seconds += time.perf_counter() - started
        self.claimed += len(claimed)
        return claimed

    async def _claim_batch(self, capacity: int) -> list[int]:
        now = self.runtime.clock()
        lease = now + timedelta(seconds=self.settings.lease_seconds)
        claimed: list[int] = []
        async with self.runtime.db.unit_of_work() as session:
            jobs = (
                await session.execute(
                    select(JobInvocation.id, JobInvocation.concurrency_level)
                    .where(JobInvocation.state.in_(("planned", "running")))
                    .order_by(JobInvocation.priority.desc(), JobInvocation.id)
                    .limit(200)
                )
            ).all()
            for job_id, level in jobs:
                if len(claimed) >= capacity:
                    break
                want = await self._room(session, job_id, level, capacity - len(claimed))
                if want <= 0:
                    continue
                ids = (
                    await session.scalars(
                        select(HostRun.id)
                        .where(HostRun.job_invocation_id == job_id, HostRun.state == "queued",
                               or_(HostRun.not_before.is_(None), HostRun.not_before <= now))
                        .order_by(HostRun.position)
                        .limit(want)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
                if not ids:
                    continue
                await session.execute(
                    update(HostRun)
                    .where(HostRun.id.in_(ids))
                    .values(state="running", worker=self.name, lease_until=lease, started_at=now)
                )
                await session.execute(
                    update(JobInvocation)
                    .where(JobInvocation.id == job_id, JobInvocation.state == "planned")
                    .values(state="running", started_at=now)
                )
                claimed.extend(ids)
        return claimed

    async def _room(self, session, job_id: int, level: int | None, want: int) -> int:
        if not level:
            return want
        # Lock the job row so two workers cannot both fill the same concurrency window.
        await session.execute(
            select(JobInvocation.id).where(JobInvocation.id == job_id).with_for_update()
        )
        running = await session.scalar(
            select(func.count()).where(HostRun.job_invocation_id == job_id, HostRun.state == "running")
        )
        return min(want, level - (running or 0))

    async def _execute(self, run_id: int, prepared: Prepared) -> None:
        try:
            sink = HostSink(self.writer, run_id, prepared.secrets, first_seq=prepared.first_seq)
            if prepared.target is None:
                sink.debug(prepared.error or "Failed to prepare the host")
                result = failed_result(prepared.error_kind or "render")
            else:
                token = self.tokens[run_id] = CancelToken()
                if prepared.segments:
                    result = await run_segments(self.engine, prepared.target, prepared.segments,
                                                sink, token)
                else:
                    result = await self.engine.run(prepared.target, sink, token)
                await sink.finish()
            await self._finish(run_id, result, prepared.script_sha512)
        except Exception:  # a host must always end, whatever went wrong inside rex
            log.exception("host run %s failed inside rex", run_id)
            await self._finish(run_id, failed_result("internal"))
        finally:
            self.tokens.pop(run_id, None)
            self.inflight.pop(run_id, None)
            self._wake.set()

    async def _prepare(self, run_ids: list[int]) -> dict[int, Prepared]:
        """Load what the claimed runs need in a few queries and build each one's target."""
        async with self.runtime.db.reader() as session:
            runs = (await session.scalars(select(HostRun).where(HostRun.id.in_(run_ids)))).all()
            jobs = {
                job.id: job for job in (await session.scalars(
                    select(JobInvocation)
                    .where(JobInvocation.id.in_({r.job_invocation_id for r in runs}))
                    .options(selectinload(JobInvocation.inputs))
                ))
            }
            templates = {
                t.id: t for t in (await session.scalars(
                    select(JobTemplate)
                    .where(JobTemplate.id.in_({j.template_id for j in jobs.values()}))
                    .options(selectinload(JobTemplate.inputs))
                ))
            }
            keys = {key for job in jobs.values()
                    for key in Environment.from_json(job.environment).secrets.values()}
            vault_values = await secret_values(session, self.runtime.vault, keys)
            hosts = {
                h.id: h for h in (await session.scalars(
                    select(Host)
                    .where(Host.id.in_({r.host_id for r in runs if r.host_id is not None}))
                    .options(selectinload(Host.parameters), selectinload(Host.facts))
                ))
            }
        prepared = {}
        for run in runs:
            job = jobs[run.job_invocation_id]
            prepared[run.id] = build_target(
                self.runtime, job=job, template=templates.get(job.template_id),
                host=hosts.get(run.host_id), vault_values=vault_values,
            )
            prepared[run.id].first_seq = run.next_seq
        return prepared

    async def _finish(self, run_id: int, result: HostResult, script_sha512: str | None = None) -> None:
        await self.writer.finish({
            "id": run_id, "state": "finished", "result": result.status,
            "exit_status": result.exit_status, "error_kind": result.error_kind,
            "finished_at": self.runtime.clock(), "lease_until": None,
            "script_sha512": script_sha512,
        })

    async def _jobs_of_finished(self, session, run_ids: list[int]) -> None:
        if await retry_failed_runs(session, run_ids, now=self.runtime.clock(),
                                   offline_retry=self.settings.offline_retry_seconds):
            self._wake.set()  # a retry due at once is claimed without waiting for the poll
        await execution_events(session, run_ids, now=self.runtime.clock())
        job_ids = set(
            (await session.scalars(
                select(HostRun.job_invocation_id).where(HostRun.id.in_(run_ids))
            )).all()
        )
        for job_id in sorted(job_ids):
            await finish_job_if_done(session, job_id=job_id, now=self.runtime.clock())

    async def _housekeeping(self) -> None:
        """Watch for cancels every poll interval; renew leases every third of a lease."""
        beat = max(self.settings.lease_seconds / 3, 0.05)
        last_beat = time.monotonic()
        while True:
            await asyncio.sleep(min(beat, self.settings.poll_interval))
            due = time.monotonic() - last_beat >= beat
            try:
                await self._heartbeat_and_cancels(renew=due)
            except Exception:
                log.exception("worker housekeeping failed")
            else:
                last_beat = time.monotonic() if due else last_beat

    async def _heartbeat_and_cancels(self, *, renew: bool) -> None:
        if not self.inflight:
            return
        ids = list(self.inflight)
        lease = self.runtime.clock() + timedelta(seconds=self.settings.lease_seconds)
        async with self.runtime.db.unit_of_work() as session:
            if renew:
                await session.execute(
                    update(HostRun)
                    .where(HostRun.id.in_(ids), HostRun.state == "running",
                           HostRun.worker == self.name)
                    .values(lease_until=lease)
                )
            rows = (
                await session.execute(
                    select(HostRun.id, JobInvocation.cancel_requested_by, JobInvocation.cancel_force)
                    .join(JobInvocation, JobInvocation.id == HostRun.job_invocation_id)
                    .where(HostRun.id.in_(ids), HostRun.cancel_requested.is_(True))
                )
            ).all()
        for run_id, by, force in rows:
            token = self.tokens.get(run_id)
            if token is not None and (not token.is_set or (force and not token.force)):
                token.cancel(by or "admin", force=bool(force))


def failed_result(kind: str) -> HostResult:
    """Return the result of a host that failed before or outside the SSH engine."""
    now = datetime.now(UTC)
    return HostResult(status="error", exit_status=None, error_kind=kind, started_at=now, finished_at=now)


def build_target(runtime: Runtime, *, job: JobInvocation, template: JobTemplate | None,
                 host: Host | None, vault_values: Mapping[str, str] | None = None) -> Prepared:
    """Render the script for `host` and resolve every connection setting (job > host > setting).

    `vault_values`: the decrypted vault entries the job's environment names, by key.
    """
    settings, vault = runtime.settings, runtime.vault
    if host is None:
        return Prepared(None, [], "Host was deleted before it could run", "missing")
    if template is None and job.script is None:
        return Prepared(None, [], "Job template was deleted before the host could run", "render")
    if job.script is None and tampered(template.template, template.template_sha512):
        return Prepared(None, [], f"Template {template.name} was changed outside rex (its "
                        "SHA-512 no longer matches the one rex stored); refusing to run it",
                        "integrity")
    if tampered(job.script, job.script_sha512):
        return Prepared(None, [], "The job's script was changed outside rex (its SHA-512 no "
                        "longer matches the one rex stored); refusing to run it", "integrity")
    params = parameter_values(host, vault)
    inputs = {i.name: vault.decrypt(i.value) if i.hidden else i.value for i in job.inputs}
    secrets = [v for v in (
        vault.decrypt(job.password), vault.decrypt(job.key_passphrase),
        vault.decrypt(job.effective_user_password),
        params.get("remote_execution_ssh_password"),
        params.get("remote_execution_ssh_key_passphrase"),
        params.get("remote_execution_effective_user_password"),
        *(inputs[i.name] for i in job.inputs if i.hidden),
    ) if v]
    environment = Environment.from_json(job.environment)
    env = list(environment.variables.items())
    for name, key in environment.secrets.items():
        value = (vault_values or {}).get(key)
        if value is None:
            return Prepared(None, secrets, f"Vault key {key} (for {name}) no longer exists", "vault")
        secrets.append(value)
        env.append((name, value))
    context = HostContext(
        name=host.name, ip=host.ip, facts={f.name: f.value for f in host.facts}, params=params
    )
    try:
        script = job.script if job.script is not None else render_script(
            template.template, inputs=inputs, input_defs=template.inputs, host=context)
    except RenderError as exc:
        return Prepared(None, secrets, str(exc), "render")
    ssh_user = job.ssh_user or params.get("remote_execution_ssh_user") or settings.ssh_user
    method = params.get("remote_execution_effective_user_method") or settings.effective_user_method
    if method not in METHODS:
        return Prepared(None, secrets, f"Effective user method '{method}' is not one of sudo, su, dzdo", "effective_user")
    effective = job.effective_user or params.get("remote_execution_effective_user") or settings.effective_user
    port_text = params.get("remote_execution_ssh_port") or str(settings.ssh_port)
    if not str(port_text).isdigit():
        return Prepared(None, secrets, f"remote_execution_ssh_port '{port_text}' is not a port number", "unreachable")
    cleanup = params.get("remote_execution_cleanup_working_dirs")
    target = HostTarget(
        address=host.ip or host.name,
        port=int(port_text),
        ssh_user=ssh_user,
        script=script,
        effective_user=None if effective == ssh_user else effective,
        effective_user_method=method,
        effective_user_password=vault.decrypt(job.effective_user_password)
        or params.get("remote_execution_effective_user_password"),
        password=vault.decrypt(job.password) or params.get("remote_execution_ssh_password"),
        key_passphrase=vault.decrypt(job.key_passphrase)
        or params.get("remote_execution_ssh_key_passphrase")
        or settings.ssh_identity_passphrase,
        working_dir=params.get("remote_execution_remote_working_dir") or settings.remote_working_dir,
        cleanup=settings.cleanup_working_dirs if cleanup is None else cleanup.lower() in TRUE_WORDS,
        host_key_policy=params.get("remote_execution_host_key_policy") or settings.host_key_policy,
        timeout=float(job.execution_timeout_interval) if job.execution_timeout_interval else None,
        connect_timeout=settings.connect_timeout,
        keepalive_interval=settings.keepalive_interval,
        runtime=job.runtime,
        environment=tuple(env),
    )
    segments = json.loads(job.segments) if job.segments else None
    return Prepared(target, secrets, script_sha512=digest(script), segments=segments)
