"""User accounts: password hashing, the first admin, and managing users and their roles.

Nobody can hand out more than they hold: only admins touch the admin flag or admin
accounts, and a non-admin may only assign roles, or manage users, whose permissions are all
within their own (Foreman's role-escalation rule).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from rex.errors import AccessDenied, NotFound, ValidationFailed
from rex.models import Role, User
from rex.paging import Page, PageRequest, fetch_page
from rex.permissions import Grants, load_grants, role_grants
from rex.refs import as_id
from search import FieldRegistry, IntegerField, TextField, compile_query

__all__ = [
    "MIN_PASSWORD",
    "USER_FIELDS",
    "create_user",
    "delete_user",
    "ensure_admin",
    "find_user",
    "hash_password",
    "list_users",
    "tune_hashing",
    "update_user",
    "verify_password",
]

MIN_PASSWORD = 8
_LOGIN = re.compile(r"[\w\-@.\\$#+]+")  # Foreman's login format
_PROFILE = ("firstname", "lastname", "mail", "description")
USER_FIELDS = FieldRegistry({
    "login": TextField(column=User.login),
    "firstname": TextField(column=User.firstname),
    "lastname": TextField(column=User.lastname),
    "mail": TextField(column=User.mail),
    "id": IntegerField(column=User.id),
})  # fmt: skip

_hasher = PasswordHasher()


def tune_hashing(memory_kib: int) -> None:
    """Set argon2's memory cost (the default is strong; test suites lower it to stay fast)."""
    global _hasher
    _hasher = PasswordHasher(memory_cost=memory_kib, time_cost=1 if memory_kib < 65536 else 3)


def hash_password(password: str) -> str:
    """Return a slow, salted argon2 hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Tell whether `password` matches `password_hash`."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def ensure_admin(session: AsyncSession, *, password: str | None) -> str | None:
    """Create the `admin` user when there is none; return the generated password, if any."""
    if await session.scalar(select(User.id).where(User.login == "admin")) is not None:
        return None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(18)
    session.add(User(login="admin", password_hash=hash_password(password), admin=True))
    await session.flush()
    return generated


async def find_user(session: AsyncSession, ref: str | int) -> User:
    """Return the user with id or login `ref` (roles loaded), or raise NotFound."""
    text = str(ref)
    cond = User.login == text
    if as_id(text) is not None:
        cond = (User.id == as_id(text)) | cond
    stmt = select(User).options(selectinload(User.roles)).where(cond).order_by(User.id)
    user = (await session.scalars(stmt)).first()
    if user is None:
        raise NotFound(f"Resource user not found by id '{text[:100]}'")
    return user


async def list_users(session: AsyncSession, *, request: PageRequest) -> Page:
    """Return one page of users, searched on login, names, mail and id."""
    where = compile_query(request.search, USER_FIELDS) if request.search else None
    base = select(User).options(selectinload(User.roles))
    return await fetch_page(session, base=base, request=request, where=where,
                            order_by=[User.login, User.id])


async def create_user(session: AsyncSession, *, actor: User, grants: Grants,
                      attrs: Mapping[str, Any], now: datetime) -> User:
    """Create a user; `actor` (holding `grants`) may not give it more than they hold."""
    errors = await _problems(session, attrs, user=None)
    if not attrs.get("password"):
        errors.setdefault("password", []).append("can't be blank")
    roles = await _roles(session, attrs.get("role_ids"), errors)
    await _check_grant(session, grants, attrs, roles, errors)
    _raise(errors)
    user = User(login=attrs["login"].strip(), password_hash=hash_password(attrs["password"]),
                admin=bool(attrs.get("admin")), disabled=bool(attrs.get("disabled")),
                created_at=now, updated_at=now, roles=roles or [])
    for name in _PROFILE:
        setattr(user, name, attrs.get(name))
    session.add(user)
    await session.flush()
    return await find_user(session, user.id)


async def update_user(session: AsyncSession, *, actor: User, grants: Grants, user: User,
                      attrs: Mapping[str, Any], now: datetime) -> User:
    """Change the given attributes of `user`, with the self-protection and escalation rules."""
    await check_manageable(session, grants, user)
    errors = await _problems(session, attrs, user=user)
    _check_self(actor, user, attrs, errors)
    roles = await _roles(session, attrs.get("role_ids"), errors)
    await _check_grant(session, grants, attrs, roles, errors, user=user)
    _raise(errors)
    for name in ("login", *_PROFILE):
        if name in attrs:
            setattr(user, name, attrs[name].strip() if name == "login" else attrs[name])
    for name in ("admin", "disabled"):
        if attrs.get(name) is not None:
            setattr(user, name, bool(attrs[name]))
    if attrs.get("password"):
        user.password_hash = hash_password(attrs["password"])
    if roles is not None:
        user.roles = roles
    user.updated_at = now
    await session.flush()
    return await find_user(session, user.id)


async def delete_user(session: AsyncSession, *, actor: User, grants: Grants, user: User) -> None:
    """Delete `user` (their tokens and role assignments go too; their jobs stay)."""
    await check_manageable(session, grants, user)
    if user.id == actor.id:
        raise ValidationFailed.field("base", "you cannot delete your own account")
    await session.delete(user)
    await session.flush()


async def check_manageable(session: AsyncSession, grants: Grants, user: User) -> None:
    """Refuse (403) when `user` holds permissions the acting `grants` do not cover."""
    if grants.admin:
        return
    if not grants.covers(await load_grants(session, user)):
        raise AccessDenied(
            [], "Only a user holding every permission of this user may manage it"
        )


async def _problems(session: AsyncSession, attrs: Mapping[str, Any], *, user: User | None
                    ) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if user is None or "login" in attrs:
        login = (attrs.get("login") or "").strip()
        if not login:
            errors["login"] = ["can't be blank"]
        elif not _LOGIN.fullmatch(login):
            errors["login"] = ["is invalid"]
        elif (user is None or login != user.login) and await session.scalar(
            select(User.id).where(User.login == login)
        ) is not None:
            errors["login"] = ["has already been taken"]
    password = attrs.get("password")
    if password and len(password) < MIN_PASSWORD:
        errors["password"] = [f"is too short (minimum is {MIN_PASSWORD} characters)"]
    mail = attrs.get("mail")
    if mail and not re.fullmatch(r"[^@\s]+@[^@\s]+", mail):
        errors["mail"] = ["is invalid"]
    return errors


def _check_self(actor: User, user: User, attrs: Mapping[str, Any], errors: dict) -> None:
    if user.id != actor.id:
        return
    if attrs.get("disabled"):
        errors.setdefault("disabled", []).append("you cannot disable your own account")
    if attrs.get("admin") is False and user.admin:
        errors.setdefault("admin", []).append("you cannot remove your own administrator flag")
    if attrs.get("password") and not verify_password(
        user.password_hash, attrs.get("current_password") or ""
    ):
        errors.setdefault("current_password", []).append(
            "must be given and match to change your own password"
        )


async def _roles(session: AsyncSession, ids: Any, errors: dict) -> list[Role] | None:
    if ids is None:
        return None
    wanted = sorted({int(i) for i in ids})
    roles = list((await session.scalars(select(Role).where(Role.id.in_(wanted)))).all())
    missing = sorted(set(wanted) - {r.id for r in roles})
    if missing:
        errors.setdefault("role_ids", []).append(
            "unknown roles: " + ", ".join(str(i) for i in missing[:20])
        )
    return roles


async def _check_grant(session: AsyncSession, grants: Grants, attrs: Mapping[str, Any],
                       roles: list[Role] | None, errors: dict, user: User | None = None) -> None:
    if grants.admin:
        return
    if attrs.get("admin") and not (user is not None and user.admin):
        errors.setdefault("admin", []).append("can only be set by an administrator")
    if roles and not grants.covers(await role_grants(session, [r.id for r in roles])):
        errors.setdefault("role_ids", []).append(
            "you can't assign roles with permissions you do not hold"
        )


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        message = "; ".join(f"{f.replace('_', ' ').capitalize()} {p}" for f, ps in errors.items()
                            for p in ps)
        raise ValidationFailed(f"Validation failed: {message}", errors)
