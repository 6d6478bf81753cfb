"""Loading REX_JOBS_DIR and running its job definitions: by hand, on schedule, on events.

The directory is scanned at start and again whenever a file's modification time changes
(`scan`, from a background loop in every rex process): a new or changed valid file is
loaded, an invalid one is unloaded and listed with its errors, a deleted one is unloaded;
each with a log line; one bad file never stops the others. Schedules keep their state in
the database (`job_definition_states`: when a definition was first loaded, which anchors
`intervalMinutes`, and when it last fired). Each run is an ordinary job invocation with
`job_definition_id`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from croniter import croniter
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from rex.errors import NotFound, ValidationFailed
from rex.integrity import digest
from rex.invocations import InvocationRequest, create_invocation
from rex.job_definitions import (
    Checked,
    build_script,
    build_segments,
    check,
    cycle_errors,
    parse_utc,
)
from rex.models import Host, Job, JobDefinitionState, JobInvocation, User
from rex.permissions import host_scope
from rex.rendering import RenderError, evaluate
from rex.runtime import Runtime
from rex.targeting import names_query
from rex.targets import os_condition, targets_condition

__all__ = ["Registry", "due_at", "fire_event", "run_definition", "run_due"]

log = logging.getLogger("rex.job_definitions")


@dataclass
class Registry:
    """The definitions of one directory: loaded ones by id, broken ones by file name."""

    directory: Path | None
    loaded: dict[str, dict[str, Any]] = field(default_factory=dict)
    broken: dict[str, Checked] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    _seen: dict[str, float] = field(default_factory=dict)

    def scan(self, now: datetime) -> bool:
        """Reload what changed since the last scan; return whether anything did."""
        if self.directory is None or not self.directory.is_dir():
            return False
        current = {p.name: p.stat().st_mtime for p in self.directory.glob("*.json") if p.is_file()}
        if current == self._seen:
            return False
        for name in set(self._seen) - set(current):
            log.info("job definition file %s was deleted: unloaded", name)
        self._seen = current
        checked = {name: self._read(name, now) for name in sorted(current)}
        valid = {c.definition["id"]: c for c in checked.values() if c.valid}
        for def_id, problem in cycle_errors({k: c.definition for k, c in valid.items()}).items():
            valid[def_id].error("alternateJobId", problem)
        before = set(self.loaded)
        self.loaded = {c.definition["id"]: _with_digests(c.definition)
                       for c in checked.values() if c.valid}
        self.broken = {name: c for name, c in checked.items() if not c.valid}
        self.warnings = {c.definition["id"]: c.warnings for c in checked.values() if c.valid}
        for name, c in self.broken.items():
            log.error("job definition file %s is invalid and not loaded: %s", name,
                      "; ".join(f"{e['path'] or '(file)'}: {e['message']}" for e in c.errors))
        for def_id in sorted(set(self.loaded) - before):
            log.info("job definition %s loaded", def_id)
        return True

    def _read(self, name: str, now: datetime) -> Checked:
        try:
            data = json.loads((self.directory / name).read_text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            checked = Checked({})
            checked.error("", f"cannot read {name} as JSON: {exc}")
            return checked
        return check(data, name, now=now)

    def get(self, def_id: str) -> dict[str, Any]:
        """Return the loaded definition `def_id`, or 404."""
        if def_id not in self.loaded:
            raise NotFound(f"Resource job_definition not found by id '{def_id}'")
        return self.loaded[def_id]


def _with_digests(definition: dict[str, Any]) -> dict[str, Any]:
    """Record the SHA-512 of every task's script or command as the definition is loaded."""
    for task in definition["tasks"]:
        body = task.get("script") or task.get("command")
        if isinstance(body, str):
            task["sha512"] = digest(body)
    return definition


def due_at(definition: Mapping[str, Any], state: JobDefinitionState, now: datetime) -> datetime | None:
    """Return the time of the firing due now (after the last one), else None."""
    schedule = definition.get("schedule") or {}
    since = state.last_fired_at or state.first_loaded_at
    if schedule.get("intervalMinutes"):
        step = timedelta(minutes=schedule["intervalMinutes"])
        count = int((now - state.first_loaded_at) / step)
        latest = state.first_loaded_at + count * step
        return latest if count >= 1 and latest > since else None
    if schedule.get("cronExpression"):
        following = croniter(schedule["cronExpression"], since).get_next(datetime)
        return following if following <= now else None
    if schedule.get("runAt"):
        at = parse_utc(schedule["runAt"])
        fresh = state.last_fired_at is None and at > state.first_loaded_at
        return at if fresh and at <= now else None
    if schedule.get("calendar"):
        following = min(_next_calendar(entry, since) for entry in schedule["calendar"])
        return following if following <= now else None
    return None


def _next_calendar(entry: Mapping[str, Any], after: datetime) -> datetime:
    hour, minute = (int(x) for x in entry["time"].split(":"))
    day = after.replace(hour=hour, minute=minute, second=0, microsecond=0)
    for _ in range(8):
        if day > after and day.isoweekday() in entry["daysOfWeek"]:
            return day
        day += timedelta(days=1)
    return day


async def _state(session: AsyncSession, def_id: str, now: datetime) -> JobDefinitionState:
    state = await session.get(JobDefinitionState, def_id)
    if state is None:
        state = JobDefinitionState(id=def_id, first_loaded_at=now)
        session.add(state)
        await session.flush()
    return state


async def run_due(session: AsyncSession, runtime: Runtime, registry: Registry, *, now: datetime) -> int:
    """Fire every enabled definition whose schedule is due; return how many jobs started."""
    started = 0
    for def_id, definition in registry.loaded.items():
        state = await _state(session, def_id, now)  # the first load anchors intervals
        if not definition.get("enabled", True) or not definition.get("schedule"):
            continue
        if due_at(definition, state, now) is not None:
            state.last_fired_at = now
            started += await _fire(session, runtime, registry, definition, None, now)
    return started


async def fire_event(session: AsyncSession, runtime: Runtime, registry: Registry, name: str, *,
                     host_id: int | None, now: datetime) -> int:
    """Run the enabled definitions listening to event `name` (on `host_id` alone, if given)."""
    started = 0
    for definition in registry.loaded.values():
        if definition.get("enabled", True) and name in (definition.get("events") or ()):
            started += await _fire(session, runtime, registry, definition, host_id, now)
    return started


async def _fire(session: AsyncSession, runtime: Runtime, registry: Registry,
                definition: Mapping[str, Any], host_id: int | None, now: datetime) -> int:
    user = await session.scalar(select(User).where(User.admin, User.disabled.is_(False))
                                .order_by(User.id).limit(1))
    try:
        job = await run_definition(session, runtime, registry, definition, user=user,
                                   parameters={}, host_id=host_id, now=now)
    except (ValidationFailed, NotFound) as exc:
        log.error("job definition %s could not run: %s", definition["id"], exc)
        return 0
    return 1 if job is not None else 0


def _values(definition: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    specs = {p["name"]: p for p in definition.get("parameters") or ()}
    unknown = [k for k in given if k not in specs]
    if unknown:
        raise ValidationFailed.field("parameters", f"unknown parameter {unknown[0]}")
    values = {}
    for name, spec in specs.items():
        value = given.get(name, spec.get("default"))
        if value is None and spec.get("required"):
            raise ValidationFailed.field(f"parameters.{name}", "is required")
        values[name] = value
    return values


async def run_definition(session: AsyncSession, runtime: Runtime, registry: Registry,
                         definition: Mapping[str, Any], *, user: User | None,
                         parameters: Mapping[str, Any], host_id: int | None,
                         now: datetime) -> JobInvocation | None:
    """Start one run: the alternate job instead when the condition is false."""
    values = _values(definition, parameters)
    if definition.get("condition"):
        try:
            holds = evaluate(definition["condition"], {"params": values})
        except RenderError as exc:
            raise ValidationFailed.field("condition", exc.message) from exc
        if not holds:
            alternate = definition.get("alternateJobId")
            if alternate is None:
                log.info("job definition %s: condition false, nothing to run", definition["id"])
                return None
            return await run_definition(session, runtime, registry, registry.get(alternate),
                                        user=user, parameters={}, host_id=host_id, now=now)
    if user is None:
        raise ValidationFailed("No enabled admin user to run scheduled job definitions as")
    names = await _hosts(session, definition, user, host_id)
    if not names:
        raise ValidationFailed.field("targets", "select no host (after osFilter)")
    script = _script(definition, values)
    # A plain job of its own, so the run is in the jobs API too (executions, cancel, delete).
    job = Job(name=definition["name"], runtime="sh", script=script,
              targets=json.dumps(definition.get("targets") or {"hosts": names}),
              user_id=user.id)
    session.add(job)
    await session.flush()
    return await create_invocation(
        session, vault=runtime.vault, settings=runtime.settings, user=user, now=now,
        req=InvocationRequest(script=script, runtime="sh", job_id=job.id,
                              segments=build_segments(definition, values),
                              name=definition["name"], search_query=names_query(names),
                              job_definition_id=definition["id"],
                              priority=definition.get("priority", 5)))


def _script(definition: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    """The shell tasks as one script (what runs over SSH when there is no Http task)."""
    shell = [t for t in definition["tasks"] if t.get("ExecutionType") != "Http"]
    return build_script({"tasks": shell}, values) if shell else "true\n"


async def _hosts(session: AsyncSession, definition: Mapping[str, Any], user: User,
                 host_id: int | None) -> list[str]:
    conditions = []
    if definition.get("targets"):
        conditions.append(await targets_condition(session, definition["targets"], user=user))
    elif host_id is None:
        raise ValidationFailed.field("targets", "are needed to run on a schedule or by hand")
    if host_id is not None:
        conditions.append(Host.id == host_id)
    os_filter = definition.get("osFilter")
    if os_filter is not None:
        wanted = [os_condition(key.lower()) for key, on in os_filter.items() if on]
        conditions.append(or_(*wanted) if wanted else Host.id.is_(None))
    visible = await host_scope(session, user.id)
    if visible is not None:
        conditions.append(visible)
    stmt = select(Host.name).where(*conditions).order_by(Host.name)
    return list((await session.scalars(stmt)).all())
