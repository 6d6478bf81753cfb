"""The host inventory: hosts, their parameters and facts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from rex.errors import BadRequest, NotFound, ValidationFailed
from rex.models import Host, HostFact, HostParameter, utcnow
from rex.paging import Page, PageRequest, fetch_page
from rex.refs import as_id
from rex.secrets import Vault
from search import FieldRegistry, TextField, compile_query

__all__ = [
    "HOST_ATTRIBUTES",
    "ORDERABLE",
    "PARAMETER_TYPES",
    "SECRET_PARAMETERS",
    "create_host",
    "delete_host",
    "find_host",
    "import_facts",
    "list_facts",
    "list_hosts",
    "parameter_values",
    "typed_value",
    "update_host",
]

HOST_ATTRIBUTES = (
    "name",
    "ip",
    "comment",
    "operatingsystem_name",
    "hostgroup_name",
    "domain_name",
    "organization_name",
    "location_name",
)
BOOLEAN_ATTRIBUTES = ("managed", "build")
# Foreman's parameter types; values are stored as text and read back in their type.
PARAMETER_TYPES = ("string", "boolean", "integer", "real", "array", "hash", "yaml", "json")
SECRET_PARAMETERS = frozenset(
    {
        "remote_execution_ssh_password",
        "remote_execution_ssh_key_passphrase",
        "remote_execution_effective_user_password",
    }
)
FACT_FIELDS = FieldRegistry({
    "name": TextField(column=HostFact.name),
    "fact": TextField(column=HostFact.name),
    "value": TextField(column=HostFact.value, default=False),
})
ORDERABLE = {
    "id": Host.id,
    "name": Host.name,
    "ip": Host.ip,
    "os": Host.operatingsystem_name,
    "hostgroup": Host.hostgroup_name,
    "domain": Host.domain_name,
    "organization": Host.organization_name,
    "location": Host.location_name,
    "comment": Host.comment,
    "created_at": Host.created_at,
    "updated_at": Host.updated_at,
}


def _loaded():
    return select(Host).options(selectinload(Host.parameters))


async def find_host(
    session: AsyncSession, ref: str | int, *, facts: bool = False, visible: Any = None
) -> Host:
    """Return the host with id or name `ref` among the `visible` ones, or raise NotFound."""
    stmt = _loaded()
    if facts:
        stmt = stmt.options(selectinload(Host.facts))
    if visible is not None:
        stmt = stmt.where(visible)
    text = str(ref)
    cond = Host.name == text
    if as_id(text) is not None:
        cond = (Host.id == as_id(text)) | cond
    host = (await session.scalars(stmt.where(cond).order_by(Host.id))).first()
    if host is None:
        raise NotFound(f"Resource host not found by id '{text[:100]}'")
    return host


async def list_hosts(
    session: AsyncSession, *, request: PageRequest, where: Any = None, visible: Any = None
) -> Page:
    """Return one page of the `visible` hosts matching `where` (a compiled search)."""
    field, direction = request.sort()
    order = [Host.name, Host.id]
    if field:
        if field not in ORDERABLE:
            known = ", ".join(sorted(ORDERABLE))
            raise BadRequest(f"Unknown order field '{field}': use one of {known}")
        column = ORDERABLE[field]
        order = [column.desc() if direction == "DESC" else column.asc(), Host.id]
    base = _loaded() if visible is None else _loaded().where(visible)
    return await fetch_page(session, base=base, request=request, where=where, order_by=order)


async def create_host(session: AsyncSession, *, vault: Vault, attrs: Mapping[str, Any]) -> Host:
    """Create a host from Foreman's `host` attributes and parameters."""
    name = (attrs.get("name") or "").strip()
    if not name:
        raise ValidationFailed.field("name", "can't be blank")
    await _check_unique_name(session, name)
    host = Host(name=name, parameters=[], facts=[])
    _assign(host, attrs)
    _set_parameters(host, vault, attrs.get("host_parameters_attributes") or [])
    session.add(host)
    await session.flush()
    return await find_host(session, host.id)


async def update_host(
    session: AsyncSession, *, vault: Vault, host: Host, attrs: Mapping[str, Any]
) -> Host:
    """Change the given attributes of `host`; parameters given by name are set or replaced."""
    if "name" in attrs:
        name = (attrs.get("name") or "").strip()
        if not name:
            raise ValidationFailed.field("name", "can't be blank")
        if name != host.name:
            await _check_unique_name(session, name)
        host.name = name
    _assign(host, attrs)
    _set_parameters(host, vault, attrs.get("host_parameters_attributes") or [])
    host.updated_at = utcnow()
    await session.flush()
    return await find_host(session, host.id)


async def delete_host(session: AsyncSession, *, host: Host) -> None:
    """Delete `host` with its parameters and facts."""
    await session.delete(host)
    await session.flush()


async def import_facts(
    session: AsyncSession, *, name: str, facts: Mapping[str, Any], now: datetime | None = None
) -> Host:
    """Create the host `name` if needed and replace its facts (Foreman's fact upload)."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.field("name", "can't be blank")
    host = await session.scalar(select(Host).where(Host.name == name))
    if host is None:
        host = Host(name=name)
        session.add(host)
        await session.flush()
    await session.execute(delete(HostFact).where(HostFact.host_id == host.id))
    session.add_all(
        HostFact(host_id=host.id, name=str(key), value=_fact_text(value))
        for key, value in _flatten(facts)
    )
    host.updated_at = now or utcnow()
    await session.flush()
    return await find_host(session, host.id, facts=True)


def parameter_values(host: Host, vault: Vault) -> dict[str, str | None]:
    """Return the host's parameters by name, secrets decrypted (for the executor only)."""
    return {
        p.name: vault.decrypt(p.value) if p.name in SECRET_PARAMETERS else p.value
        for p in host.parameters
    }


async def _check_unique_name(session: AsyncSession, name: str) -> None:
    if await session.scalar(select(Host.id).where(Host.name == name)) is not None:
        raise ValidationFailed.field("name", "has already been taken")


def _assign(host: Host, attrs: Mapping[str, Any]) -> None:
    for key in HOST_ATTRIBUTES[1:]:
        if key in attrs:
            value = attrs[key]
            setattr(host, key, None if value is None else str(value))
    for key in BOOLEAN_ATTRIBUTES:
        if key in attrs:
            setattr(host, key, bool(attrs[key]))


def _set_parameters(host: Host, vault: Vault, params: list[Mapping[str, Any]]) -> None:
    by_name = {p.name: p for p in host.parameters}
    for item in params:
        name = str(item.get("name") or "").strip()
        if not name:
            raise ValidationFailed("Parameter name can't be blank", {"parameters.name": ["can't be blank"]})
        if item.get("_destroy") in (True, "1", 1, "true"):
            if name in by_name:
                host.parameters.remove(by_name.pop(name))
            continue
        value = _parameter_text(item.get("value"))
        if name in SECRET_PARAMETERS:
            value = vault.encrypt(value)
        if name not in by_name:
            by_name[name] = HostParameter(name=name)
            host.parameters.append(by_name[name])
        param = by_name[name]
        param.value = value
        if item.get("parameter_type") is not None:
            param.parameter_type = _parameter_type(item["parameter_type"])
        if item.get("hidden_value") is not None:
            param.hidden_value = bool(item["hidden_value"])


def _parameter_type(value: Any) -> str:
    if value not in PARAMETER_TYPES:
        problem = f"is not included in the list: {', '.join(PARAMETER_TYPES)}"
        raise ValidationFailed.field("parameter_type", problem)
    return value


def _parameter_text(raw: Any) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, list | dict):
        return json.dumps(raw, sort_keys=True)
    return str(raw)


def typed_value(text: str | None, parameter_type: str) -> Any:
    """Read a stored parameter value back in its type (the text when it does not parse)."""
    if text is None or parameter_type == "string":
        return text
    try:
        if parameter_type == "boolean":
            return {"true": True, "false": False, "1": True, "0": False}[text.strip().lower()]
        if parameter_type == "integer":
            return int(text)
        if parameter_type == "real":
            return float(text)
        if parameter_type in ("array", "hash", "json"):
            return json.loads(text)
    except (KeyError, ValueError):
        return text
    return text


async def list_facts(session: AsyncSession, *, host: Host, request: PageRequest) -> Page:
    """Return one page of a host's facts, searched by `name` (or `fact`) and `value`."""
    where = compile_query(request.search, FACT_FIELDS) if (request.search or "").strip() else None
    field, direction = request.sort()
    column = {"name": HostFact.name, "fact": HostFact.name, "value": HostFact.value}.get(
        field or "name")
    if column is None:
        raise BadRequest(f"Unknown order field '{field}': use name or value")
    order = [column.desc() if direction == "DESC" else column.asc(), HostFact.id]
    base = select(HostFact).where(HostFact.host_id == host.id)
    return await fetch_page(session, base=base, request=request, where=where, order_by=order)


def _flatten(facts: Mapping[str, Any], prefix: str = ""):
    for key, value in facts.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, prefix=f"{name}::")
        else:
            yield name, value


def _fact_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
