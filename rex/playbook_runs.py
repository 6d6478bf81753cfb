"""Running playbooks: one step at a time on every host still in the run.

Each run step becomes one ordinary job invocation per host (its inputs rendered for that
host, so every host gets its own), run by the executor like any job. A background loop
(`advance_runs`, in every rex process) notices when all of a step's invocations stopped,
records each host's result (`steps.<id>.stdout|stderr|exit_status|status`), drops the hosts
that failed (unless the step continues on failure) and starts the next step, or waits at an
approval gate until someone approves, rejects or the gate times out.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from rex.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from rex.hosts import parameter_values
from rex.integrity import tampered
from rex.invocations import InvocationRequest, create_invocation
from rex.jobs import cancel_job
from rex.models import Host, HostRun, JobInvocation, OutputEvent, Playbook, PlaybookRun, User
from rex.playbooks import resolve_parameters
from rex.refs import as_id
from rex.rendering import RenderError, evaluate, render_text
from rex.runtime import Runtime
from rex.targeting import names_query
from rex.targets import resolve_targets
from rex.vault import Environment

__all__ = ["advance_runs", "approve", "cancel_run", "find_run", "reject", "run_view", "start_run"]

OUTPUT_CAP = 64 * 1024
LIVE = ("running", "waiting_approval")
SKIPPED = {"status": "skipped", "exit_status": "", "stdout": "", "stderr": ""}


async def start_run(session: AsyncSession, runtime: Runtime, *, playbook: Playbook, user: User,
                    parameters: Any, targets: Any, now: datetime) -> PlaybookRun:
    """Check parameters and targets, store the run and start its first step."""
    values = resolve_parameters(playbook, parameters)
    hosts = await resolve_targets(session, targets, user=user)
    if not hosts:
        raise ValidationFailed.field("targets", "select no host you may run jobs on")
    run = PlaybookRun(
        playbook_id=playbook.id, playbook_name=playbook.name, definition=playbook.steps,
        user_id=user.id, parameters=json.dumps(values), state="running", step=0, step_jobs="{}",
        hosts=json.dumps({str(i): {"name": n, "state": "active", "steps": {}} for i, n in hosts}))
    session.add(run)
    await session.flush()
    await _begin_step(session, runtime, run, now)
    return run


def _steps(run: PlaybookRun) -> list[dict[str, Any]]:
    return json.loads(run.definition)


async def _begin_step(session: AsyncSession, runtime: Runtime, run: PlaybookRun,
                      now: datetime) -> None:
    """Start the current step on every active host (or wait at a gate); finish at the end."""
    steps = _steps(run)
    user = await session.get(User, run.user_id) if run.user_id else None
    while run.step < len(steps):
        step = steps[run.step]
        if not any(h["state"] == "active" for h in json.loads(run.hosts).values()):
            break  # every host left the run: nothing is left to approve or run
        if step["type"] == "approval":
            run.state = "waiting_approval"
            run.approval_deadline = now + timedelta(seconds=step["approval_timeout_seconds"])
            return
        hosts = json.loads(run.hosts)
        jobs = await _start_hosts(session, runtime, run, step, hosts, user, now)
        run.hosts = json.dumps(hosts)
        if jobs:
            run.step_jobs = json.dumps(jobs)
            return
        run.step += 1
    _finish(run, now)


async def _start_hosts(session: AsyncSession, runtime: Runtime, run: PlaybookRun,
                       step: dict[str, Any], hosts: dict[str, Any], user: User | None,
                       now: datetime) -> dict[str, int]:
    """Create one invocation per active host for `step`; record skips and failures."""
    active = [int(i) for i, info in hosts.items() if info["state"] == "active"]
    loaded = {h.id: h for h in (await session.scalars(
        select(Host).where(Host.id.in_(active))
        .options(selectinload(Host.parameters), selectinload(Host.facts)))).all()}
    jobs: dict[str, int] = {}
    for host_id in active:
        info, host = hosts[str(host_id)], loaded.get(host_id)
        problem = _blocker(step, host, user)
        if problem is None:
            context = _context(run, host, info, runtime)
            try:
                if step.get("condition") and not evaluate(step["condition"], context):
                    info["steps"][step["id"]] = dict(SKIPPED)
                    continue
                inputs = {k: render_text(v, context) for k, v in step["inputs"].items()}
            except RenderError as exc:
                problem = f"step {step['id']} on {info['name']}: {exc.message}"
        if problem is not None:
            info["steps"][step["id"]] = {**SKIPPED, "status": "failed", "error": problem}
            info["state"] = "failed"
            continue
        job = await create_invocation(session, vault=runtime.vault, settings=runtime.settings,
                                      user=user, req=_request(run, step, host, inputs), now=now)
        jobs[str(host_id)] = job.id
    return jobs


def _blocker(step: dict[str, Any], host: Host | None, user: User | None) -> str | None:
    if host is None:
        return "the host was deleted"
    if user is None or user.disabled:
        return "the user who started the run can no longer run jobs"
    if "script" in step and tampered(step["script"], step.get("script_sha512")):
        return (f"step {step['id']}'s script was changed outside rex (its SHA-512 no longer "
                "matches); refusing to run it")
    return None


def _request(run: PlaybookRun, step: dict[str, Any], host: Host, inputs: dict[str, str]) -> InvocationRequest:
    common = {"search_query": names_query([host.name]),
              "execution_timeout_interval": step.get("timeout_seconds")}
    if "script" in step:
        return InvocationRequest(
            script=step["script"], runtime=step["runtime"], name=f"{run.playbook_name} / {step['id']}",
            environment=Environment(inputs, {}).to_json(), **common)
    return InvocationRequest(job_template_id=step["job_template_id"], inputs=inputs, **common)


def _context(run: PlaybookRun, host: Host, info: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    return {
        "params": json.loads(run.parameters),
        "host": {"name": host.name, "ip": host.ip,
                 "facts": {f.name: f.value for f in host.facts},
                 "params": parameter_values(host, runtime.vault)},
        "steps": info["steps"],
    }


def _finish(run: PlaybookRun, now: datetime) -> None:
    hosts = json.loads(run.hosts).values()
    run.state = "failed" if any(h["state"] == "failed" for h in hosts) else "succeeded"
    run.step_jobs, run.ended_at = "{}", now


async def _collect(session: AsyncSession, run: PlaybookRun) -> bool:
    """Record the current step's results once all its invocations stopped; say whether they did."""
    jobs = {int(h): j for h, j in json.loads(run.step_jobs).items()}
    states = dict((await session.execute(
        select(JobInvocation.id, JobInvocation.state).where(JobInvocation.id.in_(jobs.values()))
    )).all())
    if any(states.get(j) != "stopped" for j in jobs.values()):
        return False
    step = _steps(run)[run.step]
    hosts = json.loads(run.hosts)
    runs = {r.job_invocation_id: r for r in (await session.scalars(
        select(HostRun).where(HostRun.job_invocation_id.in_(jobs.values())))).all()}
    for host_id, job_id in jobs.items():
        info, host_run = hosts[str(host_id)], runs.get(job_id)
        result = await _result(session, host_run, job_id)
        info["steps"][step["id"]] = result
        if result["status"] != "success" and not step["continue_on_failure"]:
            info["state"] = "failed"
    run.hosts = json.dumps(hosts)
    return True


async def _result(session: AsyncSession, host_run: HostRun | None, job_id: int) -> dict[str, Any]:
    if host_run is None:
        return {**SKIPPED, "status": "failed", "invocation_id": job_id}
    output: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
    for stream, data in await session.execute(
            select(OutputEvent.stream, OutputEvent.data)
            .where(OutputEvent.host_run_id == host_run.id, OutputEvent.stream.in_(tuple(output)))
            .order_by(OutputEvent.seq)):
        output[stream].append(data)
    text = {k: b"".join(v)[:OUTPUT_CAP].decode(errors="replace").removesuffix("\n")
            for k, v in output.items()}
    status = {"success": "success", "cancelled": "cancelled"}.get(host_run.result, "failed")
    return {"status": status, "exit_status": host_run.exit_status, **text, "invocation_id": job_id}


async def advance_runs(session: AsyncSession, runtime: Runtime, *, now: datetime) -> int:
    """Move every live run on whose step has ended or whose gate timed out; return how many."""
    moved = 0
    runs = (await session.scalars(select(PlaybookRun).where(PlaybookRun.state.in_(LIVE))
                                  .with_for_update(skip_locked=True))).all()
    for run in runs:
        if run.state == "waiting_approval":
            if run.approval_deadline is not None and now >= run.approval_deadline:
                run.state, run.decided_by, run.ended_at = "rejected", "rex", now
                run.comment = "The approval timed out"
                moved += 1
            continue
        if await _collect(session, run):
            run.step, run.step_jobs = run.step + 1, "{}"
            await _begin_step(session, runtime, run, now)
            moved += 1
    await session.flush()
    return moved


async def find_run(session: AsyncSession, ref: str | int) -> PlaybookRun:
    """Return the run with id `ref`, or 404."""
    run_id = as_id(str(ref))
    run = await session.get(PlaybookRun, run_id) if run_id is not None else None
    if run is None:
        raise NotFound(f"Resource playbook_run not found by id '{ref}'")
    return run


def _decider(run: PlaybookRun, user: User) -> None:
    if run.state != "waiting_approval":
        raise ValidationFailed.field("state", f"the run is {run.state}, not waiting_approval")
    if run.user_id == user.id and not user.admin:
        raise AccessDenied(["approve_playbook_runs"],
                           "The user who started a run cannot approve or reject it")


async def approve(session: AsyncSession, runtime: Runtime, *, run: PlaybookRun, user: User,
                  comment: str | None, now: datetime) -> None:
    """Pass the gate and start the next step."""
    _decider(run, user)
    run.decided_by, run.comment, run.approval_deadline = user.login, comment, None
    run.state, run.step = "running", run.step + 1
    await _begin_step(session, runtime, run, now)
    await session.flush()


async def reject(session: AsyncSession, *, run: PlaybookRun, user: User, comment: str | None,
                 now: datetime) -> None:
    """End the run at the gate."""
    _decider(run, user)
    run.state, run.decided_by, run.comment, run.ended_at = "rejected", user.login, comment, now
    await session.flush()


async def cancel_run(session: AsyncSession, *, run: PlaybookRun, by: str, now: datetime) -> None:
    """Stop the run: cancel its current step's jobs; 409 when it already ended."""
    if run.state not in LIVE:
        raise Conflict(f"The playbook run is {run.state} and cannot be cancelled", status=409)
    for job_id in json.loads(run.step_jobs).values():
        job = await session.get(JobInvocation, job_id)
        if job is not None and job.state != "stopped":
            await cancel_job(session, job=job, by=by, force=False, now=now)
    run.state, run.ended_at, run.decided_by = "cancelled", now, by
    await session.flush()


def run_view(run: PlaybookRun) -> dict[str, Any]:
    """Render a run: where it is and every host's results per step."""
    steps = _steps(run)
    current = steps[run.step]["id"] if run.step < len(steps) and run.state in LIVE else None
    return {
        "id": run.id, "playbook_id": run.playbook_id, "playbook_name": run.playbook_name,
        "state": run.state, "current_step": current, "parameters": json.loads(run.parameters),
        "user_id": run.user_id, "approval_deadline": run.approval_deadline,
        "decided_by": run.decided_by, "comment": run.comment,
        "hosts": [{"id": int(i), **info} for i, info in json.loads(run.hosts).items()],
        "created_at": run.created_at, "ended_at": run.ended_at,
    }
