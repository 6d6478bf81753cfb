"""Request dependencies: runtime, database session, current user, paging parameters."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError
from rex.audits import Actor
from rex.auth import LoginThrottled
from rex.models import PersonalAccessToken, User
from rex.paging import PageRequest
from rex.runtime import Runtime

__all__ = [
    "CurrentUserDep",
    "PagingDep",
    "ReaderDep",
    "RuntimeDep",
    "SessionDep",
    "current_user",
]


def get_runtime(request: Request) -> Runtime:
    """Return the process's runtime, set up by the app's lifespan."""
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep, request: Request) -> AsyncIterator[AsyncSession]:
    """Yield a session whose work is committed when the request succeeds, audited as its user's."""
    async with runtime.db.unit_of_work() as session:
        session.info["actor"] = lambda: _actor(request)
        yield session


def _actor(request: Request) -> Actor | None:
    """Return who the request acts as, once authentication has run (None before)."""
    user = getattr(request.state, "user", None)
    if user is None:
        return None
    address = request.client.host if request.client else None
    return Actor(user_id=user.id, user_name=user.login, remote_address=address)


async def get_reader(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """Yield a read-only session (no commit)."""
    async with runtime.db.reader() as session:
        yield session


# scope="function": commit (or roll back) before the answer is sent, never after it. With
# FastAPI's default the commit ran once the client already had its 201, so a failed commit
# was a silent loss and a fast client could read what was not yet committed.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
ReaderDep = Annotated[AsyncSession, Depends(get_reader, scope="function")]


def _credentials(request: Request) -> tuple[str | None, str] | None:
    """Return (login, password or token) from Basic, or (None, token) from Bearer."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return None, value
    if scheme.lower() != "basic" or not value:
        return None
    try:
        login, sep, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (login, password) if sep else None


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": 'Basic realm="rex"'})


async def current_user(request: Request, runtime: RuntimeDep) -> User:
    """Authenticate the request (Basic password or token, Bearer token); 401 in Foreman's words."""
    creds = _credentials(request)
    if creds is None:
        raise _unauthorized("Unable to authenticate user: send HTTP Basic credentials")
    login, secret = creds
    now = runtime.clock()
    try:
        async with runtime.db.reader() as session:
            identity = await runtime.authenticator.authenticate(session, login, secret, now=now)
    except LoginThrottled as exc:  # a 401 like any refused login, saying when to retry
        error = _unauthorized(str(exc))
        error.headers = {**(error.headers or {}), "Retry-After": str(math.ceil(exc.retry_after))}
        raise error from exc
    if identity is None:
        raise _unauthorized(f"Unable to authenticate user {(login or 'with token')[:100]}")
    if identity.user.disabled:
        raise _unauthorized("User account is disabled, please contact your administrator")
    if identity.token is not None:
        await _touch(runtime, identity.token, now)
    request.state.user = identity.user
    return identity.user


async def _touch(runtime: Runtime, token: PersonalAccessToken, now) -> None:
    """Record when a token was last used, at most once a minute (a write per poll is too much)."""
    if token.last_used_at is not None and (now - token.last_used_at).total_seconds() < 60:
        return
    async with runtime.db.unit_of_work() as session:
        await session.execute(
            update(PersonalAccessToken).where(PersonalAccessToken.id == token.id)
            .values(last_used_at=now)
        )


CurrentUserDep = Annotated[User, Depends(current_user)]

MAX_PER_PAGE = 1_000_000_000


def paging(
    page: Annotated[str | None, Query(description="Page number, starting at 1")] = None,
    per_page: Annotated[
        str | None, Query(description="Number of results per page, or 'all'")
    ] = None,
    search: Annotated[str | None, Query(description="Filter results by a search query")] = None,
    order: Annotated[
        str | None, Query(description="Sort field and order, e.g. 'name DESC'")
    ] = None,
) -> PageRequest:
    """Parse Foreman's paging parameters; bad values are a 422 with a message."""
    return PageRequest(
        page=_positive("page", page, 1),
        per_page=None if per_page == "all" else _positive("per_page", per_page, 20),
        search=search,
        order=order,
    )


def _positive(name: str, raw: str | None, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ApiError(
            422,
            f"Invalid value for {name}: '{raw}' (expected a positive integer"
            + (" or 'all')" if name == "per_page" else ")"),
            errors={name: ["must be a positive integer"]},
        )
    return min(value, MAX_PER_PAGE)


PagingDep = Annotated[PageRequest, Depends(paging)]
