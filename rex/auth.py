"""Authentication: a login and password or a personal access token, with login throttling.

Successful password checks are remembered briefly (argon2 is slow on purpose and clients
poll), keyed by the password's digest and trusted only while the stored hash is unchanged,
so a password change anywhere ends them at once. Failed logins are counted per login: after
`free` failures in a row a login must wait (1 s, 2 s, 4 s ... capped) before each next
attempt; attempts that come earlier are refused without checking the password, so parallel
guessing gains nothing. Counters live in this process's memory. A Bearer token's 256 random
bits leave nothing to guess: its failures are only logged.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rex.errors import RexError
from rex.models import PersonalAccessToken, User
from rex.tokens import parse_token, verify_token
from rex.users import hash_password, verify_password

__all__ = ["Authenticator", "Identity", "LoginThrottle", "LoginThrottled"]

log = logging.getLogger("rex.auth")


class LoginThrottled(RexError):
    """Too many failed logins in a row for one login: wait `retry_after` seconds."""

    def __init__(self, login: str, retry_after: float) -> None:
        super().__init__(f"Too many failed logins for {login}: try again in {retry_after:.0f} s")
        self.login = login
        self.retry_after = retry_after


class LoginThrottle:
    """Counts failed logins per login and says how long the next attempt must wait."""

    def __init__(self, *, free: int = 5, base: float = 1.0, cap: float = 60.0,
                 forget_after: float = 900.0, max_logins: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free, self.base, self.cap = free, base, cap
        self.forget_after, self.max_logins, self.clock = forget_after, max_logins, clock
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def delay(self, failures: int) -> float:
        """Return how long a login with `failures` failures in a row must wait."""
        if failures < self.free:
            return 0.0
        return min(self.cap, self.base * 2 ** (failures - self.free))

    def check(self, login: str) -> None:
        """Raise LoginThrottled while `login` must still wait."""
        entry = self._failures.get(login)
        if entry is None:
            return
        count, last = entry
        elapsed = self.clock() - last
        if elapsed > self.forget_after:
            del self._failures[login]
            return
        wait = self.delay(count) - elapsed
        if wait > 0:
            raise LoginThrottled(login, wait)

    def failed(self, login: str) -> None:
        """Count one more failure of `login` and log it."""
        count, last = self._failures.pop(login, (0, 0.0))
        now = self.clock()
        count = 1 if now - last > self.forget_after else count + 1
        self._failures[login] = (count, now)
        while len(self._failures) > self.max_logins:
            self._failures.popitem(last=False)
        delay = self.delay(count)
        if delay:
            log.warning("failed login for %r (%d in a row): further attempts refused for %.0f s",
                        login[:100], count, delay)
        else:
            log.warning("failed login for %r (%d in a row)", login[:100], count)

    def succeeded(self, login: str) -> None:
        """Forget the failures of `login`."""
        self._failures.pop(login, None)


@dataclass(frozen=True)
class Identity:
    """Who a request is: the user, and the token it used (if any)."""

    user: User
    token: PersonalAccessToken | None = None


class Authenticator:
    """Checks passwords and tokens, remembering recent password successes."""

    def __init__(self, ttl: float = 60.0, throttle: LoginThrottle | None = None) -> None:
        self._ttl = ttl
        self.throttle = throttle or LoginThrottle()
        self._recent: dict[tuple[str, bytes], tuple[int, str, float]] = {}
        self._decoy: str | None = None

    async def authenticate(
        self, session: AsyncSession, login: str | None, secret: str, *, now: datetime
    ) -> Identity | None:
        """Return who `login` + `secret` (password or token; login None for Bearer) is, else None."""
        if login is None:  # a Bearer token: 256 random bits, nothing to guess
            identity = await self._check(session, None, secret, now)
            if identity is None:
                log.warning("failed login with an unknown, revoked or expired token")
            return identity
        self.throttle.check(login)
        identity = await self._check(session, login, secret, now)
        if identity is None:
            self.throttle.failed(login)
        else:
            self.throttle.succeeded(login)
        return identity

    async def _check(self, session: AsyncSession, login: str | None, secret: str,
                     now: datetime) -> Identity | None:
        if parse_token(secret) is not None:
            token = await verify_token(session, secret, now=now)
            user = await session.get(User, token.user_id) if token else None
            if user is None or (login is not None and user.login != login):
                return None
            return Identity(user, token)
        if login is None:
            return None
        user = await self._password(session, login, secret)
        return Identity(user) if user else None

    async def _password(self, session: AsyncSession, login: str, password: str) -> User | None:
        key = (login, hashlib.sha256(password.encode()).digest())
        hit = self._recent.get(key)
        if hit and hit[2] > time.monotonic():
            user = await session.get(User, hit[0])
            if user is not None and user.login == login and user.password_hash == hit[1]:
                return user
        user = await session.scalar(select(User).where(User.login == login))
        if user is None:
            verify_password(self._decoy_hash(), password)  # same time as a wrong password
            return None
        if not verify_password(user.password_hash, password):
            return None
        self._recent[key] = (user.id, user.password_hash, time.monotonic() + self._ttl)
        return user

    def _decoy_hash(self) -> str:
        if self._decoy is None:
            self._decoy = hash_password("rex decoy password")
        return self._decoy

    def forget(self, login: str) -> None:
        """Drop remembered credentials of `login` (after a password change)."""
        self._recent = {k: v for k, v in self._recent.items() if k[0] != login}
