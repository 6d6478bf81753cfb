"""Personal access tokens: `rex_<id>_<secret>`, shown once; only a SHA-256 digest is stored.

The secret has 256 random bits, so a fast digest is enough (a slow hash protects guessable
passwords, not random tokens); the id in front finds the row without scanning.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rex.errors import NotFound, ValidationFailed
from rex.models import PersonalAccessToken, User
from rex.paging import Page, PageRequest, fetch_page
from rex.refs import as_id
from search import FieldRegistry, IntegerField, TextField, compile_query

__all__ = ["find_token", "issue_token", "list_tokens", "parse_token", "revoke_token", "verify_token"]

PREFIX = "rex_"
TOKEN_FIELDS = FieldRegistry({
    "name": TextField(column=PersonalAccessToken.name),
    "id": IntegerField(column=PersonalAccessToken.id),
})  # fmt: skip
_TOKEN = re.compile(r"rex_(\d{1,12})_([A-Za-z0-9_-]{20,100})")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_token(text: str) -> int | None:
    """Return the token id of a string shaped like a token, else None."""
    match = _TOKEN.fullmatch(text)
    return int(match.group(1)) if match else None


async def issue_token(
    session: AsyncSession, *, user: User, name: str, expires_at: datetime | None, now: datetime
) -> tuple[PersonalAccessToken, str]:
    """Create a token for `user`; return it and its full text (never stored, never shown again)."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.field("name", "can't be blank")
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed.field("expires_at", "must be in the future")
    secret = secrets.token_urlsafe(32)
    token = PersonalAccessToken(user_id=user.id, name=name, token_hash="", expires_at=expires_at,
                                created_at=now, updated_at=now)
    session.add(token)
    await session.flush()
    full = f"{PREFIX}{token.id}_{secret}"
    token.token_hash = _digest(full)
    await session.flush()
    return token, full


async def list_tokens(session: AsyncSession, *, user: User, request: PageRequest) -> Page:
    """Return one page of the user's tokens, newest first, searched on name and id."""
    base = select(PersonalAccessToken).where(PersonalAccessToken.user_id == user.id)
    where = compile_query(request.search, TOKEN_FIELDS) if request.search else None
    return await fetch_page(session, base=base, request=request, where=where,
                            order_by=[PersonalAccessToken.id.desc()])


async def find_token(session: AsyncSession, *, user: User, ref: str) -> PersonalAccessToken:
    """Return the user's token `ref`, or raise NotFound."""
    token = None
    if as_id(ref) is not None:
        token = await session.scalar(
            select(PersonalAccessToken).where(
                PersonalAccessToken.id == as_id(ref), PersonalAccessToken.user_id == user.id
            )
        )
    if token is None:
        raise NotFound(f"Resource personal_access_token not found by id '{ref[:100]}'")
    return token


async def revoke_token(session: AsyncSession, *, token: PersonalAccessToken, now: datetime) -> None:
    """Revoke a token at once; it stays listed as revoked."""
    token.revoked = True
    token.updated_at = now
    await session.flush()


async def verify_token(session: AsyncSession, text: str, *, now: datetime) -> PersonalAccessToken | None:
    """Return the live token `text` stands for, or None (unknown, wrong, revoked, expired)."""
    token_id = parse_token(text)
    if token_id is None:
        return None
    token = await session.get(PersonalAccessToken, token_id)
    if token is None or token.revoked:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    return token if hmac.compare_digest(token.token_hash, _digest(text)) else None
