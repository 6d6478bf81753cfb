"""The audit trail: who created, changed or destroyed what, and who ran, cancelled or reran jobs.

Changes to audited models are recorded by a flush hook, like Rails' `audited`: a session
that knows its actor (`session.info["actor"]`, set for API requests) writes one audit row
per created, changed or destroyed object in the same transaction as the change. Background
work (workers, sweeps, the scheduler) has no actor and is not audited. Job actions are not
row edits, so the API records them with `record_job`. Secrets are masked in every row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from rex.errors import NotFound
from rex.hosts import SECRET_PARAMETERS
from rex.models import (
    Audit,
    Bookmark,
    Filter,
    Host,
    HostParameter,
    HostRun,
    JobInvocation,
    JobTemplate,
    PersonalAccessToken,
    RemoteExecutionFeature,
    Role,
    TemplateInput,
    User,
    utcnow,
)
from rex.paging import Page, PageRequest, fetch_page
from rex.refs import as_id
from rex.secrets import MASK
from search import DateTimeField, FieldRegistry, IntegerField, TextField, compile_query

__all__ = ["AUDIT_FIELDS", "Actor", "find_audit", "install", "list_audits", "record", "record_job"]

AUDIT_FIELDS = FieldRegistry({
    "user": TextField(column=Audit.user_name),
    "action": TextField(column=Audit.action),
    "type": TextField(column=Audit.auditable_type),
    "name": TextField(column=Audit.auditable_name),
    "changes": TextField(column=Audit.audited_changes, default=False),
    "remote_address": TextField(column=Audit.remote_address, default=False),
    "id": IntegerField(column=Audit.id),
    "auditable_id": IntegerField(column=Audit.auditable_id),
    "user_id": IntegerField(column=Audit.user_id),
    "created_at": DateTimeField(column=Audit.created_at),
})  # fmt: skip


@dataclass(frozen=True)
class Actor:
    """Who acts in a session: a user, from an address."""

    user_id: int | None
    user_name: str | None
    remote_address: str | None = None


@dataclass(frozen=True)
class Spec:
    """How one model is audited: its type name, display name, secret and collection fields."""

    type_name: str
    name: Callable[[Any], str | None]
    secret: Callable[[Any, str], bool] = lambda _obj, _column: False
    hidden: frozenset[str] = frozenset({"created_at", "updated_at"})
    collections: tuple[str, ...] = ()


def _param_secret(param: HostParameter, column: str) -> bool:
    return column == "value" and param.name in SECRET_PARAMETERS


SPECS: dict[type, Spec] = {
    Host: Spec("Host", lambda o: o.name),
    HostParameter: Spec("HostParameter", lambda o: o.name, secret=_param_secret),
    JobTemplate: Spec("JobTemplate", lambda o: o.name),
    TemplateInput: Spec("TemplateInput", lambda o: o.name),
    RemoteExecutionFeature: Spec("RemoteExecutionFeature", lambda o: o.label),
    User: Spec("User", lambda o: o.login, secret=lambda _o, c: c == "password_hash",
               collections=("roles",)),
    Role: Spec("Role", lambda o: o.name),
    Filter: Spec("Filter", lambda o: o.search or o.resource_type, collections=("permissions",)),
    PersonalAccessToken: Spec("PersonalAccessToken", lambda o: o.name,
                              hidden=frozenset({"created_at", "updated_at", "token_hash",
                                                "last_used_at"})),
    Bookmark: Spec("Bookmark", lambda o: o.name),
}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def _label(item: Any) -> Any:
    return getattr(item, "name", None) or getattr(item, "id", None)


def _changes(obj: Any, spec: Spec, action: str) -> dict[str, Any]:
    state = inspect(obj)
    changes: dict[str, Any] = {}
    for column in state.mapper.column_attrs:
        key = column.key
        if key in spec.hidden or (action == "create" and key == "id"):
            continue
        history = state.attrs[key].history
        mask = (lambda v: MASK if v not in (None, "") else v) if spec.secret(obj, key) else _plain
        if action == "update":
            if history.has_changes():
                old = history.deleted[0] if history.deleted else None
                changes[key] = [mask(old), mask(history.added[0] if history.added else None)]
        elif state.dict.get(key) is not None:
            changes[key] = mask(state.dict[key])
    for key in spec.collections:
        history = state.attrs[key].history
        if history.added or history.deleted:
            changes[key] = {"added": [_label(i) for i in history.added],
                            "removed": [_label(i) for i in history.deleted]}
    return changes


def _row(actor: Actor, action: str, type_name: str, auditable_id: Any, name: Any,
         changes: dict[str, Any]) -> dict[str, Any]:
    return {
        "user_id": actor.user_id, "user_name": actor.user_name, "action": action,
        "auditable_type": type_name, "auditable_id": auditable_id,
        "auditable_name": None if name is None else str(name)[:255],
        "audited_changes": json.dumps(changes, default=str, sort_keys=True),
        "remote_address": actor.remote_address, "created_at": utcnow(),
    }


def _after_flush(session: Session, _context: Any) -> None:
    find_actor = session.info.get("actor")
    actor = find_actor() if find_actor else None
    if actor is None:
        return
    rows = []
    for action, objects in (("create", session.new), ("update", session.dirty),
                            ("destroy", session.deleted)):
        for obj in objects:
            spec = SPECS.get(type(obj))
            if spec is None:
                continue
            changes = _changes(obj, spec, action)
            if action == "update" and not changes:
                continue
            rows.append(_row(actor, action, spec.type_name, obj.id, spec.name(obj), changes))
    if rows:
        session.connection().execute(insert(Audit), rows)


def install() -> None:
    """Audit every session's flushes from now on (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


async def record(session: AsyncSession, *, action: str, type_name: str, auditable_id: int | None,
                 name: str | None, changes: dict[str, Any]) -> None:
    """Record one action of the session's actor (nothing when it has none)."""
    find_actor = session.info.get("actor")
    actor = find_actor() if find_actor else None
    if actor is not None:
        await session.execute(insert(Audit), [_row(actor, action, type_name, auditable_id, name,
                                                   changes)])


async def record_job(session: AsyncSession, *, action: str, job: JobInvocation,
                     **extra: Any) -> None:
    """Record who ran, cancelled or reran `job`: template, inputs (secrets masked), hosts."""
    hosts = (await session.scalars(
        select(HostRun.host_name).where(HostRun.job_invocation_id == job.id)
        .order_by(HostRun.position).limit(1000)
    )).all()
    template_sha512 = None
    if job.template_id is not None:
        template_sha512 = await session.scalar(
            select(JobTemplate.template_sha512).where(JobTemplate.id == job.template_id))
    changes = {
        "template_id": job.template_id, "template_name": job.template_name,
        "template_sha512": template_sha512, "script_sha512": job.script_sha512,
        "inputs": {i.name: MASK if i.hidden else i.value for i in job.inputs},
        "search_query": job.search_query, "hosts": list(hosts), "total_hosts": job.total_hosts,
        "effective_user": job.effective_user, "ssh_user": job.ssh_user,
        **{k: MASK for k in ("password", "key_passphrase", "effective_user_password")
           if getattr(job, k)},
        **extra,
    }
    await record(session, action=action, type_name="JobInvocation", auditable_id=job.id,
                 name=job.description, changes=changes)


async def find_audit(session: AsyncSession, ref: str) -> Audit:
    """Return the audit row `ref`, or raise NotFound."""
    found = await session.get(Audit, as_id(ref)) if as_id(ref) is not None else None
    if found is None:
        raise NotFound(f"Resource audit not found by id '{ref[:100]}'")
    return found


async def list_audits(session: AsyncSession, *, request: PageRequest) -> Page:
    """Return one page of audits, newest first, searched on user, action, type, name, time."""
    where = compile_query(request.search, AUDIT_FIELDS) if request.search else None
    return await fetch_page(session, base=select(Audit), request=request, where=where,
                            order_by=[Audit.id.desc()])
