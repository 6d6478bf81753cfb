"""Jobs in segments: shell parts over SSH and HTTP requests made by rex, in task order.

A job definition with `Http` tasks becomes one job invocation whose hosts each run a list
of segments: consecutive shell tasks are one script (one SSH exec, `build_script`), and each
Http task is a request rex itself makes, with its answer written to the host's output. A
failed segment stops the host unless the task continues on failure (shell scripts handle
their own `continueOnFailure`).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import httpx

from rex.ssh import CancelToken, Engine, HostResult, HostTarget

__all__ = ["run_segments"]


async def _request(segment: dict[str, Any], sink: Any) -> bool:
    """Make one Http task's request; write what happened; return whether it succeeded."""
    method, url = segment["method"], segment["url"]
    await sink.emit("stdout", f"== task {segment['id']}: HTTP {method} {url}\n".encode())
    try:
        async with httpx.AsyncClient(timeout=segment.get("timeoutSeconds") or 30) as client:
            answer = await client.request(method, url, headers=segment.get("headers") or {},
                                          content=(segment.get("body") or "").encode() or None)
    except httpx.HTTPError as exc:
        await sink.emit("stderr", f"task {segment['id']} failed: {type(exc).__name__}: {exc}\n".encode())
        return False
    await sink.emit("stdout", f"HTTP {answer.status_code}\n".encode())
    if not answer.is_success:
        await sink.emit("stderr", f"task {segment['id']} failed with HTTP {answer.status_code}\n"
                        .encode())
        return False
    return True


async def run_segments(engine: Engine, target: HostTarget, segments: list[dict[str, Any]],
                       sink: Any, cancel: CancelToken | None) -> HostResult:
    """Run the segments in order on one host; the host's result is the first failure, if any."""
    started = datetime.now(UTC)
    last = HostResult("success", 0, None, started, started)
    for segment in segments:
        if cancel is not None and cancel.is_set:
            return HostResult("cancelled", None, "cancel", started, datetime.now(UTC))
        if segment["kind"] == "ssh":
            last = await engine.run(dataclasses.replace(target, script=segment["script"]), sink,
                                    cancel)
            if last.status != "success":
                return dataclasses.replace(last, started_at=started)
        elif not await _request(segment, sink) and not segment.get("continueOnFailure"):
            return HostResult("error", None, "http", started, datetime.now(UTC))
    return HostResult("success", last.exit_status, None, started, datetime.now(UTC))
