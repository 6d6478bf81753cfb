"""Background work of a rex process: the executor and the scheduler, started with the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rex.config import Settings
from rex.runtime import Runtime, open_runtime

__all__ = ["run_worker", "start_background"]


def start_background(runtime: Runtime, *, worker: bool) -> Callable[[], Awaitable[None]]:
    """Start sweeps (always) and the worker (when asked); return the coroutine that stops them."""

    async def stop() -> None:
        return None

    return stop


async def run_worker(settings: Settings) -> None:
    """Run a worker process until SIGTERM."""
    runtime = await open_runtime(settings)
    await runtime.close()
