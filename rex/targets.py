"""The `targets` object: which hosts a plain job (or anything else rex runs) goes to.

    {"hosts": [ids or names]}        ("agents" is accepted as an alias)
    {"tag": "linux and (web or db)"} tags are the host parameter `tags`, split on commas
    {"group": "web"}                 the host group
    {"os": "linux"}                  linux | windows | macos | an operating system name
    {"search": "facts.osfamily = Debian"}
    {"all": true}                    every host; stands alone and needs the admin role

Given keys are ANDed. Resolution always stays within the hosts the user may see. A scheduled
plain job resolves its targets again at every firing (`firing_hosts`), so a host tagged later
is in the next run and one deleted since is simply left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import and_, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from rex.errors import AccessDenied, ValidationFailed
from rex.host_search import host_filter
from rex.models import Host, HostFact, HostParameter, Job, JobInvocation, User
from rex.permissions import host_scope
from rex.refs import as_id
from search import SearchError

__all__ = ["TARGET_KEYS", "firing_hosts", "os_condition", "parse_tag_expression",
           "resolve_targets", "targets_condition"]

TARGET_KEYS = ("hosts", "agents", "tag", "group", "os", "search", "all")

# Operating system families: names seen in `operatingsystem_name` and the usual facts.
FAMILIES = {
    "linux": ("linux", "redhat", "rhel", "centos", "rocky", "almalinux", "alma", "fedora",
              "debian", "ubuntu", "suse", "sles", "opensuse", "archlinux", "arch", "gentoo",
              "alpine", "oraclelinux", "oracle linux", "amazon", "coreos"),
    "windows": ("windows",),
    "macos": ("darwin", "macos", "mac os x", "macosx", "osx"),
}
OS_FACTS = ("kernel", "os::family", "osfamily", "os::name", "operatingsystem",
            "ansible_system", "ansible_os_family", "ansible_distribution")

_TOKEN = re.compile(r"\s*(?:(\()|(\))|([^\s()]+))")


def _problem(key: str, message: str) -> ValidationFailed:
    return ValidationFailed.field(f"targets.{key}", message)


# ---- tag expressions: `and` binds tighter than `or`, parentheses group --------------------

TagTest = Callable[[frozenset[str]], bool]


def parse_tag_expression(text: str) -> TagTest:
    """Compile `web and (db or cache)` into a test over a host's set of tags."""
    tokens = [m.group(0).strip() for m in _TOKEN.finditer(text) if m.group(0).strip()]
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise _problem("tag", f"cannot read the tag expression {text!r}")
    if not tokens:
        raise _problem("tag", "is empty")
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def either() -> TagTest:
        parts = [both()]
        while (peek() or "").lower() == "or":
            take()
            parts.append(both())
        return parts[0] if len(parts) == 1 else (lambda tags: any(p(tags) for p in parts))

    def both() -> TagTest:
        parts = [single()]
        while (peek() or "").lower() == "and":
            take()
            parts.append(single())
        return parts[0] if len(parts) == 1 else (lambda tags: all(p(tags) for p in parts))

    def single() -> TagTest:
        token = peek()
        if token is None:
            raise _problem("tag", f"{text!r} ends where a tag was expected")
        if token == "(":
            take()
            inner = either()
            if peek() != ")":
                raise _problem("tag", f"{text!r} has an unclosed parenthesis")
            take()
            return inner
        if token == ")" or token.lower() in ("and", "or"):
            raise _problem("tag", f"{text!r} has {token!r} where a tag was expected")
        tag = take()
        return lambda tags: tag in tags

    test = either()
    if peek() is not None:
        raise _problem("tag", f"{text!r} has {peek()!r} where and, or or the end was expected")
    return test


def split_tags(value: str | None) -> frozenset[str]:
    """Return the tags of a `tags` parameter value: split on commas, trimmed, empties dropped."""
    return frozenset(t.strip() for t in (value or "").split(",") if t.strip())


# ---- the object -------------------------------------------------------------------------------


def _check_shape(targets: Any) -> dict[str, Any]:
    if not isinstance(targets, Mapping):
        raise ValidationFailed.field("targets", "must be an object")
    unknown = [k for k in targets if k not in TARGET_KEYS]
    if unknown:
        raise ValidationFailed.field(
            "targets", f"unknown key {unknown[0]!r}; use {', '.join(TARGET_KEYS)}")
    given = {k: v for k, v in targets.items() if v not in (None, False, "", [])}
    if "agents" in given:
        if "hosts" in given:
            raise ValidationFailed.field("targets", "give hosts or agents, not both")
        given["hosts"] = given.pop("agents")
    if not given:
        raise ValidationFailed.field("targets", "must name at least one of "
                                     + ", ".join(k for k in TARGET_KEYS if k != "agents"))
    if "all" in given:
        if given["all"] is not True:
            raise _problem("all", "must be true")
        if len(given) > 1:
            raise _problem("all", "stands alone: it cannot be combined with other keys")
    for key in ("tag", "group", "os", "search"):
        if key in given and not isinstance(given[key], str):
            raise _problem(key, "must be a string")
    if "hosts" in given and (not isinstance(given["hosts"], list) or not all(
            isinstance(h, (str, int)) and not isinstance(h, bool) for h in given["hosts"])):
        raise _problem("hosts", "must be a list of host ids or names")
    return given


async def _hosts_condition(session: AsyncSession, refs: list[str | int],
                           visible: ColumnElement[bool] | None, strict: bool) -> ColumnElement[bool]:
    wanted = list(dict.fromkeys(str(r).strip() for r in refs if str(r).strip()))
    ids = [as_id(r) for r in wanted if as_id(r) is not None]
    stmt = select(Host.id, Host.name).where(or_(Host.id.in_(ids), Host.name.in_(wanted)))
    if visible is not None:  # a host the user may not see is as unknown as a missing one
        stmt = stmt.where(visible)
    rows = (await session.execute(stmt)).all()
    known = {str(i) for i, _ in rows} | {n for _, n in rows}
    missing = [r for r in wanted if r not in known]
    if missing and strict:
        raise _problem("hosts", f"unknown hosts: {', '.join(missing[:20])}")
    return Host.id.in_([i for i, _ in rows])


async def _tag_condition(session: AsyncSession, expression: str) -> ColumnElement[bool]:
    test = parse_tag_expression(expression)
    rows = await session.execute(
        select(HostParameter.host_id, HostParameter.value).where(HostParameter.name == "tags"))
    return Host.id.in_([host_id for host_id, value in rows if test(split_tags(value))])


def os_condition(name: str) -> ColumnElement[bool]:
    """Hosts of an OS family (linux, windows, macos) or named OS, from their OS and facts."""
    wanted = name.strip().lower()
    if not wanted:
        raise _problem("os", "is empty")
    names = FAMILIES.get(wanted)
    if names is None:  # one operating system by name: "Debian", "Ubuntu 22.04"
        by_fact = select(HostFact.host_id).where(
            HostFact.name.in_(("os::name", "operatingsystem", "ansible_distribution")),
            func.lower(HostFact.value) == wanted)
        return or_(func.lower(Host.operatingsystem_name).like(_prefix(wanted), escape="\\"),
                   Host.id.in_(by_fact))
    os_name = func.lower(func.coalesce(Host.operatingsystem_name, ""))
    by_fact = select(HostFact.host_id).where(
        HostFact.name.in_(OS_FACTS), func.lower(HostFact.value).in_(names))
    return or_(*(os_name.like(_prefix(n), escape="\\") for n in names), Host.id.in_(by_fact))


def _prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _search_condition(query: str) -> ColumnElement[bool]:
    if not query.strip():
        raise _problem("search", "is empty")
    try:
        return host_filter(query)
    except SearchError as exc:
        raise _problem("search", str(exc)) from exc


async def targets_condition(session: AsyncSession, targets: Any, *, user: User,
                            strict: bool = True) -> ColumnElement[bool]:
    """Validate `targets` and compile it to a condition on `Host`; 422 or 403 when it is wrong.

    `strict=False` leaves unknown hosts of a `hosts` list out instead of refusing them.
    """
    given = _check_shape(targets)
    if "all" in given:
        if not user.admin:
            raise AccessDenied(["admin"])  # "all" is for admins only
        return true()
    parts: list[ColumnElement[bool]] = []
    if "hosts" in given:
        visible = await host_scope(session, user.id)
        parts.append(await _hosts_condition(session, given["hosts"], visible, strict))
    if "tag" in given:
        parts.append(await _tag_condition(session, given["tag"]))
    if "group" in given:
        parts.append(func.lower(Host.hostgroup_name) == given["group"].strip().lower())
    if "os" in given:
        parts.append(os_condition(given["os"]))
    if "search" in given:
        parts.append(_search_condition(given["search"]))
    return and_(*parts) if parts else false()


async def resolve_targets(session: AsyncSession, targets: Any, *, user: User,
                          strict: bool = True) -> list[tuple[int, str]]:
    """Return (id, name) of the hosts `targets` selects that `user` may see, by name."""
    condition = await targets_condition(session, targets, user=user, strict=strict)
    visible = await host_scope(session, user.id)
    stmt = select(Host.id, Host.name).where(condition).order_by(Host.name, Host.id)
    if visible is not None:
        stmt = stmt.where(visible)
    return [(i, n) for i, n in (await session.execute(stmt)).all()]


async def firing_hosts(session: AsyncSession, job: JobInvocation) -> list[tuple[int, str]] | None:
    """Return the hosts a firing of a scheduled plain job runs on, its targets resolved now.

    None when `job` is no such firing (a rerun has no recurring logic: it keeps its hosts).
    Hosts deleted since are left out; a user who was disabled, deleted, or is no longer
    allowed `all` gets no host.
    """
    firing = job.job_id is not None and job.recurring_logic_id is not None
    plain = await session.get(Job, job.job_id) if firing else None
    if plain is None:
        return None
    user = await session.get(User, job.user_id) if job.user_id is not None else None
    if user is None or user.disabled:
        return []
    try:
        return await resolve_targets(session, json.loads(plain.targets), user=user, strict=False)
    except (AccessDenied, ValidationFailed):
        return []
