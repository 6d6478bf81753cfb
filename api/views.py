"""Foreman's JSON shapes of job invocations, host runs, output and tasks."""

from __future__ import annotations

from api.render import timestamp
from rex.invocations import STATUS_LABELS, job_status
from rex.models import HostRun, JobInvocation
from rex.outputs import exit_line
from rex.secrets import MASK

__all__ = [
    "host_job_status",
    "output_lines",
    "render_job",
    "render_line",
    "render_task",
    "task_state",
]


def host_job_status(run: HostRun | None, job: JobInvocation) -> str:
    """Return Foreman's per-host `job_status`."""
    if run is None or run.state == "queued":
        return "cancelled" if job.result == "cancelled" else "N/A"
    if run.state == "running":
        return "running"
    return "error" if run.result == "warning" else run.result


def _counts(job: JobInvocation, counts: dict[str, int], present: int) -> dict:
    queued = job.state == "scheduled"
    resolved = job.resolved_at is not None
    return {
        "succeeded": 0 if queued else counts.get("success", 0),
        "failed": 0 if queued else counts.get("error", 0),
        "pending": 0 if queued else counts.get("pending", 0),
        "cancelled": 0 if queued else counts.get("cancelled", 0),
        "total": "N/A" if queued else job.total_hosts,
        "missing": max(job.total_hosts - present, 0) if resolved else 0,
        "total_hosts": job.total_hosts if resolved else "N/A",
    }


def render_job(
    job: JobInvocation,
    *,
    counts: dict[str, int],
    present: int,
    default_effective_user: str,
) -> dict:
    """Render a job as Foreman's index row (`base.json.rabl`)."""
    status = job_status(job)
    return {
        "id": job.id,
        "description": job.description,
        "job_category": job.job_category,
        "targeting_id": job.id,
        "status": status,
        "start_at": timestamp(job.start_at),
        "status_label": STATUS_LABELS[status],
        "ssh_user": job.ssh_user,
        "time_to_pickup": job.time_to_pickup,
        "concurrency_level": job.concurrency_level,
        "execution_timeout_interval": job.execution_timeout_interval,
        "dynflow_task": {"id": job.task_id, "state": job.state},
        "template_id": job.template_id,
        "template_name": job.template_name,
        "effective_user": job.effective_user or default_effective_user,
        **_counts(job, counts, present),
    }


def input_values(job: JobInvocation) -> list[dict]:
    """Render the job's input values, hidden ones masked."""
    return [
        {
            "template_input_name": i.name,
            "template_input_id": i.template_input_id,
            "value": MASK if i.hidden else i.value,
        }
        for i in job.inputs
    ]


def render_line(event) -> dict:
    """Render one stored output event as Foreman's output line."""
    return {
        "id": event.id,
        "template_invocation_id": event.host_run_id,
        "timestamp": event.timestamp,
        "meta": None,
        "external_id": str(event.seq),
        "output_type": event.stream,
        "output": event.data.decode("utf-8", errors="replace"),
    }


def output_lines(run: HostRun, events: list, *, since: float | None) -> list[dict]:
    """Render a run's events plus the closing `Exit status` line once it finished."""
    lines = [render_line(e) for e in events]
    final = exit_line(run)
    if final is not None:
        last = events[-1].timestamp if events else 0.0
        final["timestamp"] = max(final["timestamp"], last + 1e-6)
        if since is None or final["timestamp"] > since:
            lines.append(final)
    return lines


def task_state(run: HostRun) -> str:
    """Map a host run's state to a task state."""
    return {"queued": "planned", "running": "running"}.get(run.state, "stopped")


def render_task(*, task_id: str, label: str, state: str, result: str, progress: float,
                started_at, ended_at, action: str, username: str | None = None,
                parent_task_id: str | None = None, task_input: dict | None = None,
                task_output: dict | None = None, errors: list[str] | None = None,
                humanized_input: list | None = None) -> dict:
    """Render a foreman-tasks task; `humanized.errors` says why it did not succeed."""
    return {
        "id": task_id,
        "label": label,
        "pending": state != "stopped",
        "action": action,
        "username": username,
        "started_at": timestamp(started_at),
        "ended_at": timestamp(ended_at),
        "duration": _duration(started_at, ended_at),
        "state": state,
        "result": result,
        "progress": progress,
        "input": task_input or {},
        "output": task_output or {},
        "humanized": {"action": action.split(":")[0], "input": humanized_input or [],
                      "output": "", "errors": errors or []},
        "cli_example": None,
        "start_at": timestamp(started_at),
        "available_actions": {"cancellable": state not in ("stopped",), "resumable": False},
        "parent_task_id": parent_task_id,
    }


def _duration(started_at, ended_at) -> str | None:
    if started_at is None or ended_at is None:
        return None
    return f"{(ended_at - started_at).total_seconds():.3f}"
