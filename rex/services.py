"""Background work of a rex process: sweeps always, the executor when it is a worker."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable

from rex.config import Settings
from rex.errors import ConfigurationError
from rex.job_definition_registry import Registry, fire_event, run_due
from rex.playbook_runs import advance_runs
from rex.runtime import Runtime, open_runtime
from rex.sweeps import sweep
from rex.webhooks import deliver_forever

__all__ = ["make_worker", "run_worker", "settle_heap", "start_background"]

log = logging.getLogger("rex.services")


def make_worker(runtime: Runtime):
    """Build the executor for this process: rex's SSH key, known hosts in the database."""
    from rex.executor import Worker
    from rex.identity import ensure_identity
    from rex.known_hosts import DatabaseKnownHosts
    from rex.ssh import ClientIdentity, Engine

    settings = runtime.settings
    if not settings.is_sqlite and settings.ssh_identity_file is None:
        raise ConfigurationError(
            "REX_SSH_IDENTITY_FILE must be set when rex runs on PostgreSQL: every worker must "
            "log in with the same key"
        )
    identity = ClientIdentity.load(ensure_identity(settings), settings.ssh_identity_passphrase)
    known_hosts = DatabaseKnownHosts(runtime)
    engine = Engine(identity, known_hosts, concurrency=settings.worker_concurrency)
    return Worker(runtime, engine, known_hosts=known_hosts)


def settle_heap() -> None:
    """Hide what start-up loaded from the garbage collector (it lives as long as the process).

    Modules, the app and the models are tens of thousands of objects; a busy executor makes
    enough garbage to trigger full collections, and each would walk all of them again. Only
    for long-lived processes: frozen objects are never collected.
    """
    gc.collect()
    gc.freeze()


def start_background(runtime: Runtime, *, worker: bool) -> Callable[[], Awaitable[None]]:
    """Start sweeps (always) and the worker (when asked); return the coroutine that stops them."""
    tasks = [asyncio.create_task(_sweep_forever(runtime), name="rex-sweeps"),
             asyncio.create_task(_playbooks_forever(runtime), name="rex-playbooks"),
             asyncio.create_task(_job_definitions_forever(runtime), name="rex-job-definitions"),
             asyncio.create_task(deliver_forever(runtime, _interval(runtime.settings)),
                                 name="rex-webhooks")]
    executor = make_worker(runtime) if worker else None
    if executor is not None:
        runtime.services.setdefault("wakers", []).append(executor.wake)
        runtime.services["worker"] = executor
        tasks.append(asyncio.create_task(executor.run_forever(), name="rex-worker"))

    async def stop() -> None:
        if executor is not None:
            await executor.stop(grace=runtime.settings.shutdown_grace)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    return stop


def _interval(settings: Settings) -> float:
    return max(min(settings.poll_interval * 4, settings.lease_seconds / 2, 1.0), 0.05)


async def _sweep_forever(runtime: Runtime) -> None:
    interval = _interval(runtime.settings)
    while True:
        try:
            counts = await sweep(runtime.db, settings=runtime.settings, now=runtime.clock())
            if any(counts.values()):
                log.info("sweep: %s", counts)
                runtime.notify_work()
        except Exception:
            log.exception("sweep failed")
        await asyncio.sleep(interval)


async def _playbooks_forever(runtime: Runtime) -> None:
    interval = _interval(runtime.settings)
    while True:
        try:
            async with runtime.db.unit_of_work() as session:
                moved = await advance_runs(session, runtime, now=runtime.clock())
            if moved:
                runtime.notify_work()
        except Exception:
            log.exception("advancing playbook runs failed")
        await asyncio.sleep(interval)


def job_definitions(runtime: Runtime) -> Registry:
    """Return this process's registry of REX_JOBS_DIR (made on first use)."""
    return runtime.services.setdefault("job_definitions", Registry(runtime.settings.jobs_dir))


async def _job_definitions_forever(runtime: Runtime) -> None:
    """Reload REX_JOBS_DIR when files change, fire Startup once, then due schedules."""
    registry = job_definitions(runtime)
    started = False
    while True:
        try:
            registry.scan(runtime.clock())
            async with runtime.db.unit_of_work() as session:
                now = runtime.clock()
                count = await run_due(session, runtime, registry, now=now)
                if not started:
                    count += await fire_event(session, runtime, registry, "Startup",
                                              host_id=None, now=now)
                    started = True
            if count:
                runtime.notify_work()
        except Exception:
            log.exception("job definitions failed")
        await asyncio.sleep(runtime.settings.jobs_dir_poll_seconds)


async def run_worker(settings: Settings) -> None:
    """Run a worker process until SIGTERM or SIGINT, then stop gracefully."""
    runtime = await open_runtime(settings)
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_requested.set)
    stop = start_background(runtime, worker=True)
    log.info("worker started")
    try:
        await stop_requested.wait()
    finally:
        await stop()
        await runtime.close()
