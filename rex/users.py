"""User accounts: password hashing, authentication and the first admin."""

from __future__ import annotations

import hashlib
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rex.models import User

__all__ = ["Authenticator", "ensure_admin", "hash_password", "tune_hashing", "verify_password"]

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


class Authenticator:
    """Checks login + password, remembering recent successes so polling stays cheap."""

    def __init__(self, ttl: float = 60.0) -> None:
        self._ttl = ttl
        self._recent: dict[tuple[str, bytes], tuple[int, float]] = {}

    async def authenticate(self, session: AsyncSession, login: str, password: str) -> User | None:
        """Return the enabled-or-disabled user whose credentials match, else None."""
        key = (login, hashlib.sha256(password.encode()).digest())
        hit = self._recent.get(key)
        if hit and hit[1] > time.monotonic():
            return await session.get(User, hit[0])
        user = await session.scalar(select(User).where(User.login == login))
        if user is None or not verify_password(user.password_hash, password):
            return None
        self._recent[key] = (user.id, time.monotonic() + self._ttl)
        return user

    def forget(self, login: str) -> None:
        """Drop remembered credentials of `login` (after a password change)."""
        self._recent = {k: v for k, v in self._recent.items() if k[0] != login}
