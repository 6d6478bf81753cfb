"""Watching a job: the live progress bar, and host output polled with `since`."""

from __future__ import annotations

import json
import re
import sys
import time
from typing import Any

import click
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from rex.client.http import Api
from rex.client.output import console

__all__ = ["POLL_SECONDS", "OutputWriter", "exit_status", "follow_host", "wait_job"]

POLL_SECONDS = 0.5
ACTIVE = ("queued", "running")
EXIT_LINE = re.compile(r"^Exit status: (\S+)$")


def job_path(job_id: int | str) -> str:
    """Return the API path of a job invocation."""
    return f"/api/job_invocations/{job_id}"


def progress_text(job: dict) -> str:
    """Describe a job's hosts: `3/10 done, 1 failed`."""
    total = job.get("total")
    done = job["succeeded"] + job["failed"] + job["cancelled"]
    text = f"{done}/{total if isinstance(total, int) else '?'} done, {job['failed']} failed"
    if job["cancelled"]:
        text += f", {job['cancelled']} cancelled"
    return text


def wait_job(api: Api, job_id: int) -> dict:
    """Poll the job (without its host list) until it ends, drawing a progress bar on stderr."""
    bar = Progress(
        SpinnerColumn(), TextColumn("job {task.fields[job]} {task.fields[label]}"), BarColumn(),
        TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
        console=console(stderr=True), transient=False,
    )
    with bar:
        task = bar.add_task("job", total=None, job=job_id, label="queued", detail="")
        while True:
            job = api.get(job_path(job_id), include_hosts=False)
            total = job.get("total")
            bar.update(task, total=total if isinstance(total, int) else None,
                       completed=job["succeeded"] + job["failed"] + job["cancelled"],
                       label=job["status_label"], detail=progress_text(job))
            if job["status_label"] not in ACTIVE:
                return job
            time.sleep(POLL_SECONDS)


class OutputWriter:
    """Print output chunks as they come: stdout to stdout, stderr and debug to stderr."""

    def __init__(self, *, as_json: bool = False) -> None:
        self.as_json = as_json
        self._open: dict[str, bool] = {"stdout": False, "stderr": False}

    def write(self, item: dict, host: str | None = None) -> None:
        """Print one output item (a chunk, not necessarily a whole line)."""
        if self.as_json:
            click.echo(json.dumps({**item, "host": host} if host else item))
            return
        kind = item.get("output_type", "stdout")
        text = str(item.get("output", ""))
        whole_line = kind == "debug" or EXIT_LINE.match(text) is not None
        stream = "stdout" if kind == "stdout" else "stderr"
        if whole_line:
            self.end_line(stream)
        self._emit(stream, text)
        if whole_line:
            self.end_line(stream)

    def _emit(self, stream: str, text: str) -> None:
        if not text:
            return
        target = sys.stdout if stream == "stdout" else sys.stderr
        target.write(text)
        target.flush()
        self._open[stream] = not text.endswith("\n")

    def end_line(self, stream: str | None = None) -> None:
        """Finish a partly written line (on one stream, or on both)."""
        for name in [stream] if stream else list(self._open):
            if self._open[name]:
                self._emit(name, "\n")


def exit_status(lines: list[dict]) -> str | None:
    """Return the `N` of a host's final `Exit status: N` line, if it has one."""
    for item in reversed(lines):
        found = EXIT_LINE.match(str(item.get("output", "")))
        if found:
            return found.group(1)
    return None


def follow_host(api: Api, job_id: int, host: str, writer: OutputWriter, *,
                follow: bool) -> tuple[dict, list[dict]]:
    """Print a host's output; with `follow`, poll with `since` until it is complete."""
    path = f"{job_path(job_id)}/hosts/{host}"
    since: Any = None
    seen: list[dict] = []
    announced = False
    while True:
        body = api.get(path, since=since)
        if body.get("delayed") and not announced and not writer.as_json:
            waiting = "; waiting" if follow else ""
            click.echo(f"job {job_id} starts at {body.get('start_at')}{waiting}", err=True)
            announced = True
        for item in body.get("output") or []:
            writer.write(item)
            seen.append(item)
            since = item.get("timestamp", since)
        if body.get("complete") or not follow:
            writer.end_line()
            return body, seen
        time.sleep(POLL_SECONDS)
