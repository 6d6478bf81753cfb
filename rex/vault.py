"""The vault: secrets under keys, and the environment (variables + vault secrets) of a job.

Values are encrypted with rex's key and never leave rex except on the SSH channel's stdin of
the hosts that run a job naming them. A job stores only the names: a secret is read from the
vault when a host starts, so a changed value applies to the next run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rex.errors import NotFound, ValidationFailed
from rex.models import VaultEntry
from rex.paging import Page, PageRequest, fetch_page, ordering
from rex.refs import as_id
from rex.secrets import Vault
from search import FieldRegistry, IntegerField, TextField, compile_query

__all__ = ["Environment", "create_entry", "delete_entry", "find_entry", "list_entries",
           "parse_environment", "update_entry"]

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KEY = re.compile(r"[A-Za-z0-9_.\-/]{1,255}")
VAULT_FIELDS = FieldRegistry({
    "key": TextField(column=VaultEntry.key),
    "description": TextField(column=VaultEntry.description),
    "id": IntegerField(column=VaultEntry.id),
})  # fmt: skip


# ---- entries ------------------------------------------------------------------------------


def _check_key(key: Any) -> str:
    if not isinstance(key, str) or not KEY.fullmatch(key) or "//" in key or key.startswith("/"):
        raise ValidationFailed.field("key", "must be 1-255 of A-Z a-z 0-9 _ . - and / "
                                     "(not leading, not doubled)")
    return key


def _check_value(value: Any) -> str:
    if not isinstance(value, str) or value == "":
        raise ValidationFailed.field("value", "must be a non-empty string")
    if "\0" in value:
        raise ValidationFailed.field("value", "must not contain NUL bytes")
    return value


async def find_entry(session: AsyncSession, *, ref: str | int | None = None,
                     key: str | None = None) -> VaultEntry:
    """Return the entry with id `ref` or key `key`; 404 otherwise."""
    if key is not None:
        entry = await session.scalar(select(VaultEntry).where(VaultEntry.key == key))
        what = f"key '{key}'"
    else:
        entry_id = as_id(str(ref))
        entry = await session.get(VaultEntry, entry_id) if entry_id is not None else None
        what = f"id '{ref}'"
    if entry is None:
        raise NotFound(f"Resource vault_entry not found by {what}")
    return entry


async def list_entries(session: AsyncSession, *, request: PageRequest, key: str | None) -> Page:
    """Return one page of entries (values stay encrypted; callers never render them)."""
    where = compile_query(request.search, VAULT_FIELDS) if request.search else None
    base = select(VaultEntry)
    if key is not None:
        base = base.where(VaultEntry.key == key)
    order = ordering(request, {"key": VaultEntry.key, "id": VaultEntry.id}, [VaultEntry.key],
                     VaultEntry.id)
    return await fetch_page(session, base=base, request=request, where=where, order_by=order)


async def create_entry(session: AsyncSession, *, vault: Vault, attrs: Mapping[str, Any]) -> VaultEntry:
    """Store a new secret; 422 for a bad or taken key or an empty value."""
    key = _check_key(attrs.get("key"))
    value = _check_value(attrs.get("value"))
    if await session.scalar(select(VaultEntry.id).where(VaultEntry.key == key)) is not None:
        raise ValidationFailed.field("key", "has already been taken")
    entry = VaultEntry(key=key, value=vault.encrypt(value), description=attrs.get("description"))
    session.add(entry)
    await session.flush()
    return entry


async def update_entry(session: AsyncSession, *, vault: Vault, entry: VaultEntry,
                       attrs: Mapping[str, Any]) -> VaultEntry:
    """Change an entry's value and/or description (the key stays)."""
    if "key" in attrs and attrs["key"] != entry.key:
        raise ValidationFailed.field("key", "cannot be changed; create a new entry")
    if "value" in attrs:
        entry.value = vault.encrypt(_check_value(attrs["value"]))
    if "description" in attrs:
        entry.description = attrs["description"]
    await session.flush()
    return entry


async def delete_entry(session: AsyncSession, *, entry: VaultEntry) -> None:
    """Remove an entry; jobs naming it fail those hosts with a message until it is back."""
    await session.delete(entry)
    await session.flush()


# ---- a job's environment ------------------------------------------------------------------


@dataclass(frozen=True)
class Environment:
    """Variables (plain) and secrets (by vault key) a job's script gets as env vars."""

    variables: dict[str, str]
    secrets: dict[str, str]  # env name -> vault key

    def to_json(self) -> str | None:
        """Serialise for JobInvocation.environment (None when empty)."""
        if not self.variables and not self.secrets:
            return None
        return json.dumps({"variables": self.variables,
                           "secrets": [{"env": k, "vault_key": v} for k, v in self.secrets.items()]})

    @classmethod
    def from_json(cls, text: str | None) -> Environment:
        """Read JobInvocation.environment."""
        data = json.loads(text) if text else {}
        return cls(dict(data.get("variables", {})),
                   {s["env"]: s["vault_key"] for s in data.get("secrets", [])})


def _env_name(name: Any, field: str) -> str:
    if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
        raise ValidationFailed.field(field, f"{name!r} is not an environment variable name "
                                     "([A-Za-z_][A-Za-z0-9_]*)")
    return name


async def parse_environment(session: AsyncSession, variables: Any, secrets: Any) -> Environment:
    """Validate a job's `variables` and `secrets`; 422 naming the first wrong one."""
    plain: dict[str, str] = {}
    if variables is not None:
        if not isinstance(variables, Mapping):
            raise ValidationFailed.field("variables", "must be an object of name: value")
        for name, value in variables.items():
            _env_name(name, "variables")
            if isinstance(value, (dict, list)) or value is None:
                raise ValidationFailed.field("variables", f"{name} must be a string or a number")
            text = value if isinstance(value, str) else json.dumps(value)
            if "\0" in text:
                raise ValidationFailed.field("variables", f"{name} must not contain NUL bytes")
            plain[name] = text
    named: dict[str, str] = {}
    if secrets is not None:
        if not isinstance(secrets, list):
            raise ValidationFailed.field("secrets", 'must be a list of {"env", "vault_key"}')
        for item in secrets:
            if not isinstance(item, Mapping) or set(item) != {"env", "vault_key"}:
                raise ValidationFailed.field("secrets", 'each must be {"env", "vault_key"}')
            name = _env_name(item["env"], "secrets")
            if name in plain or name in named:
                raise ValidationFailed.field("secrets", f"{name} is given twice")
            named[name] = str(item["vault_key"])
        keys = set(named.values())
        known = set((await session.scalars(select(VaultEntry.key).where(VaultEntry.key.in_(keys)))).all())
        missing = sorted(keys - known)
        if missing:
            raise ValidationFailed.field("secrets", f"unknown vault key {missing[0]}")
    return Environment(plain, named)


async def secret_values(session: AsyncSession, vault: Vault, keys: set[str]) -> dict[str, str]:
    """Return the decrypted values of the vault `keys` that exist."""
    if not keys:
        return {}
    rows = await session.execute(select(VaultEntry.key, VaultEntry.value).where(VaultEntry.key.in_(keys)))
    return {key: vault.decrypt(value) for key, value in rows}
