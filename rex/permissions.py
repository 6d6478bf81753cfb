"""Foreman's permission model: the permission catalogue, built-in roles, and what a user may do.

A user holds roles; a role holds filters; a filter grants permissions of one resource type,
either on every row (no search: "unlimited") or on the rows its search finds. `admin` users
may do everything. A row outside every granting filter does not exist for that user (404).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, false, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from rex.host_search import host_filter
from rex.models import Filter, Filtering, Permission, Role, User, UserRole
from search import SearchError

__all__ = [
    "BUILTIN_ROLES",
    "PERMISSIONS",
    "SEARCHABLE",
    "Grants",
    "host_scope",
    "load_grants",
    "role_grants",
    "seed_access",
]

log = logging.getLogger("rex.permissions")

# Foreman's permission names (core, foreman_remote_execution, foreman-tasks) -> resource type.
PERMISSIONS: dict[str, str] = {
    "view_hosts": "Host",
    "create_hosts": "Host",
    "edit_hosts": "Host",
    "destroy_hosts": "Host",
    "view_job_templates": "JobTemplate",
    "create_job_templates": "JobTemplate",
    "edit_job_templates": "JobTemplate",
    "destroy_job_templates": "JobTemplate",
    "lock_job_templates": "JobTemplate",
    "view_job_invocations": "JobInvocation",
    "create_job_invocations": "JobInvocation",
    "cancel_job_invocations": "JobInvocation",
    "view_template_invocations": "TemplateInvocation",
    "create_template_invocations": "TemplateInvocation",
    "view_remote_execution_features": "RemoteExecutionFeature",
    "edit_remote_execution_features": "RemoteExecutionFeature",
    "view_foreman_tasks": "ForemanTasks::Task",
    "view_recurring_logics": "ForemanTasks::RecurringLogic",
    "edit_recurring_logics": "ForemanTasks::RecurringLogic",
    "view_users": "User",
    "create_users": "User",
    "edit_users": "User",
    "destroy_users": "User",
    "view_roles": "Role",
    "create_roles": "Role",
    "edit_roles": "Role",
    "destroy_roles": "Role",
    "view_filters": "Filter",
    "create_filters": "Filter",
    "edit_filters": "Filter",
    "destroy_filters": "Filter",
    "view_audit_logs": "Audit",
    "view_bookmarks": "Bookmark",
    "create_bookmarks": "Bookmark",
    "edit_bookmarks": "Bookmark",
    "destroy_bookmarks": "Bookmark",
    # rex's own: the vault's secrets (keys are listed, values never shown)
    "view_vault": "VaultEntry",
    "edit_vault": "VaultEntry",
    "view_webhooks": "Webhook",  # admins only: a webhook sees every job
    "edit_webhooks": "Webhook",
    "approve_playbook_runs": "PlaybookRun",
}

# Resource types whose filters may carry a search, and how that search becomes SQL.
SEARCHABLE: dict[str, Callable[[str], Any]] = {"Host": host_filter}

_VIEWER = (
    "view_hosts", "view_job_templates", "view_job_invocations", "view_template_invocations",
    "view_remote_execution_features", "view_foreman_tasks", "view_recurring_logics",
    "view_audit_logs", "view_bookmarks",
)
_REX_USER = (
    "view_hosts", "view_job_templates", "view_job_invocations", "create_job_invocations",
    "create_template_invocations", "view_template_invocations",
    "view_remote_execution_features", "view_foreman_tasks", "view_recurring_logics",
    # their own bookmarks: saved host searches to target
    "view_bookmarks", "create_bookmarks", "edit_bookmarks", "destroy_bookmarks",
    "view_vault",  # to name vault secrets in their jobs
)
_REX_MANAGER = (
    *_REX_USER, "cancel_job_invocations", "create_job_templates", "edit_job_templates",
    "destroy_job_templates", "lock_job_templates", "edit_remote_execution_features",
    "edit_recurring_logics", "view_audit_logs", "edit_vault", "approve_playbook_runs",
)


@dataclass(frozen=True)
class BuiltinRole:
    """A role rex seeds and keeps locked: its permissions are code, not data."""

    name: str
    origin: str
    description: str
    permissions: tuple[str, ...]


BUILTIN_ROLES = (
    BuiltinRole("Viewer", "foreman", "Role granting read-only access to hosts, jobs and templates",
                _VIEWER),
    BuiltinRole("Remote Execution User", "foreman_remote_execution",
                "Role with permissions to run remote execution jobs against hosts", _REX_USER),
    BuiltinRole("Remote Execution Manager", "foreman_remote_execution",
                "Role with permissions to manage job templates, remote execution features, "
                "cancel jobs and view audit logs", _REX_MANAGER),
)


@dataclass(frozen=True)
class Grants:
    """What one user may do: per permission, the searches of the filters granting it."""

    admin: bool = False
    searches: Mapping[str, tuple[str | None, ...]] = field(default_factory=dict)

    def allows(self, permission: str) -> bool:
        """Tell whether the user holds `permission` on at least some rows."""
        return self.admin or permission in self.searches

    def unlimited(self, permission: str) -> bool:
        """Tell whether the user holds `permission` on every row."""
        return self.admin or None in self.searches.get(permission, ())

    def covers(self, other: Grants) -> bool:
        """Tell whether these grants include everything `other` grants (no escalation)."""
        if self.admin:
            return True
        if other.admin:
            return False
        return all(
            self.unlimited(name) or (None not in wanted and set(wanted) <= set(self.searches.get(name, ())))
            for name, wanted in other.searches.items()
        )

    def scope(self, permission: str) -> Any:
        """Return the SQL condition for the rows `permission` reaches (None: every row)."""
        if self.unlimited(permission):
            return None
        searches = self.searches.get(permission, ())
        compile_search = SEARCHABLE.get(PERMISSIONS.get(permission, ""))
        if not searches or compile_search is None:
            return false()
        return or_(*(_compiled(compile_search, s) for s in searches))


def _compiled(compile_search: Callable[[str], Any], search: str) -> Any:
    try:
        return compile_search(search)
    except SearchError as exc:  # a stored filter that no longer compiles grants nothing
        log.error("permission filter search %r no longer compiles: %s", search, exc)
        return false()


async def load_grants(session: AsyncSession, user: User) -> Grants:
    """Collect the permissions `user` holds through its roles' filters."""
    if user.admin:
        return Grants(admin=True)
    return await role_grants(session, select(UserRole.role_id).where(UserRole.user_id == user.id))


async def role_grants(session: AsyncSession, role_ids: Any) -> Grants:
    """Collect the permissions the roles `role_ids` (ids or a subquery of ids) grant together."""
    rows = await session.execute(
        select(Permission.name, Filter.search)
        .join(Filtering, Filtering.permission_id == Permission.id)
        .join(Filter, Filter.id == Filtering.filter_id)
        .where(Filter.role_id.in_(role_ids))
    )
    searches: dict[str, set[str | None]] = {}
    for name, search in rows:
        searches.setdefault(name, set()).add(search.strip() if search and search.strip() else None)
    return Grants(searches={k: tuple(sorted(v, key=lambda s: s or "")) for k, v in searches.items()})


async def host_scope(session: AsyncSession, user_id: int | None) -> Any:
    """Return the hosts a job's user may target (None: all); a gone or disabled user has none."""
    user = await session.get(User, user_id) if user_id is not None else None
    if user is None or user.disabled:
        return false()
    return (await load_grants(session, user)).scope("view_hosts")


async def seed_access(session: AsyncSession) -> None:
    """Create the permission catalogue and the built-in roles; re-sync them (idempotent)."""
    if session.get_bind().dialect.name == "postgresql":
        # Several rex processes may start at once; seed one after the other.
        await session.execute(text("SELECT pg_advisory_xact_lock(7001)"))
    known = {p.name: p for p in (await session.scalars(select(Permission))).all()}
    for name, resource_type in PERMISSIONS.items():
        if name not in known:
            known[name] = Permission(name=name, resource_type=resource_type)
            session.add(known[name])
        else:
            known[name].resource_type = resource_type
    await session.flush()
    for spec in BUILTIN_ROLES:
        await _seed_role(session, spec, known)


async def _seed_role(session: AsyncSession, spec: BuiltinRole, known: dict[str, Permission]) -> None:
    role = await session.scalar(
        select(Role).where(Role.name == spec.name)
        .options(selectinload(Role.filters).selectinload(Filter.permissions))
    )
    if role is None:
        role = Role(name=spec.name, filters=[])
        session.add(role)
    role.origin, role.description = spec.origin, spec.description
    wanted: dict[str, set[str]] = {}
    for name in spec.permissions:
        wanted.setdefault(PERMISSIONS[name], set()).add(name)
    have = {(f.resource_type, frozenset(p.name for p in f.permissions), f.search) for f in role.filters}
    if have == {(t, frozenset(names), None) for t, names in wanted.items()}:
        return
    if role.id is not None:
        await session.execute(delete(Filter).where(Filter.role_id == role.id))
    await session.flush()
    session.expire(role, ["filters"])
    for resource_type, names in sorted(wanted.items()):
        session.add(Filter(role_id=role.id, resource_type=resource_type, search=None,
                           permissions=[known[n] for n in sorted(names)]))
    await session.flush()
