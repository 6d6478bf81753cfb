"""/api/users, /api/current_user and /api/users/:id/personal_access_tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PagingDep, ReaderDep, RuntimeDep, SessionDep
from api.permissions import Access, Allowed
from api.render import envelope, timestamp
from api.schemas import wrapped
from rex import tokens, users
from rex.models import PersonalAccessToken, Role, User
from rex.times import parse_time

router = APIRouter(tags=["users"])

RoleId = Annotated[int, Field(ge=1, lt=2**31)]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    login: str | None = Field(default=None, max_length=255, description="Login name")
    password: str | None = Field(default=None, max_length=1024, description="Password")
    current_password: str | None = Field(
        default=None, max_length=1024, description="Your current password (to change your own)"
    )
    firstname: str | None = Field(default=None, max_length=255, description="First name")
    lastname: str | None = Field(default=None, max_length=255, description="Last name")
    mail: str | None = Field(default=None, max_length=255, description="E-mail address")
    description: str | None = Field(default=None, max_length=10_000, description="Description")
    admin: bool | None = Field(default=None, description="Administrator: may do everything")
    disabled: bool | None = Field(default=None, description="A disabled user cannot log in")
    role_ids: list[RoleId] | None = Field(default=None, max_length=1000, description="Roles")


class UserBody(BaseModel):
    user: UserIn
    _wrap = wrapped("user")


class TokenIn(BaseModel):
    name: str = Field(max_length=255, description="What the token is for")
    expires_at: str | None = Field(default=None, max_length=64, description="Expiry time")


class TokenBody(BaseModel):
    personal_access_token: TokenIn
    _wrap = wrapped("personal_access_token")


def render_role_ref(role: Role) -> dict:
    """Render a role as listed inside a user or filter."""
    return {"id": role.id, "name": role.name, "description": role.description,
            "origin": role.origin}


def render_user(user: User, *, detail: bool = True) -> dict:
    """Render a user as Foreman's index row (detail=False) or show body."""
    body = {
        "id": user.id, "login": user.login, "firstname": user.firstname,
        "lastname": user.lastname, "mail": user.mail, "description": user.description,
        "admin": user.admin, "effective_admin": user.admin, "disabled": user.disabled,
        "auth_source_id": 1, "auth_source_name": "Internal",
        "auth_source_type": "AuthSourceInternal", "timezone": None, "locale": None,
        "default_organization": None, "default_location": None,
        "created_at": timestamp(user.created_at), "updated_at": timestamp(user.updated_at),
    }
    if detail:
        body["roles"] = [render_role_ref(role) for role in user.roles]
    return body


def render_token(token: PersonalAccessToken, now) -> dict:
    """Render a personal access token (never its value, which only creation shows)."""
    expired = token.expires_at is not None and token.expires_at <= now
    return {
        "id": token.id, "name": token.name, "user_id": token.user_id,
        "expires_at": timestamp(token.expires_at), "last_used_at": timestamp(token.last_used_at),
        "revoked?": token.revoked, "active?": not token.revoked and not expired,
        "created_at": timestamp(token.created_at), "updated_at": timestamp(token.updated_at),
    }


def _is_self(user: Access, ref: str) -> bool:
    return ref in (str(user.id), user.login)


def _attrs(body: UserBody) -> dict:
    return body.user.model_dump(exclude_unset=True)


@router.get("/current_user", summary="Show the signed-in user")
async def current(session: ReaderDep, user: Allowed()) -> dict:
    return render_user(await users.find_user(session, user.id))


@router.get("/users", summary="List users")
async def index(session: ReaderDep, user: Allowed("view_users"), paging: PagingDep) -> dict:
    page = await users.list_users(session, request=paging)
    return envelope(page, paging, lambda row: render_user(row, detail=False))


@router.get("/users/{id}", summary="Show a user")
async def show(id: str, session: ReaderDep, user: Allowed()) -> dict:
    if not _is_self(user, id):
        user.require("view_users")
    return render_user(await users.find_user(session, id))


@router.post("/users", status_code=status.HTTP_201_CREATED, summary="Create a user")
async def create(body: UserBody, session: SessionDep, runtime: RuntimeDep,
                 user: Allowed("create_users")) -> dict:
    created = await users.create_user(session, actor=user.user, grants=user.grants,
                                      attrs=_attrs(body), now=runtime.clock())
    return render_user(created)


@router.put("/users/{id}", summary="Update, disable or enable a user")
async def update(id: str, body: UserBody, session: SessionDep, runtime: RuntimeDep,
                 user: Allowed()) -> dict:
    if not _is_self(user, id):
        user.require("edit_users")
    target = await users.find_user(session, id)
    changed = await users.update_user(session, actor=user.user, grants=user.grants, user=target,
                                      attrs=_attrs(body), now=runtime.clock())
    return render_user(changed)


@router.delete("/users/{id}", summary="Delete a user")
async def destroy(id: str, session: SessionDep, user: Allowed("destroy_users")) -> dict:
    target = await users.find_user(session, id)
    body = render_user(target)
    await users.delete_user(session, actor=user.user, grants=user.grants, user=target)
    return body


async def _owner(session, user: Access, ref: str, permission: str) -> User:
    """Return the user whose tokens are asked for: yourself, or one you may manage."""
    if _is_self(user, ref):
        return user.user
    user.require(permission)
    owner = await users.find_user(session, ref)
    await users.check_manageable(session, user.grants, owner)
    return owner


@router.get("/users/{user_id}/personal_access_tokens", summary="List personal access tokens")
async def tokens_index(user_id: str, session: ReaderDep, runtime: RuntimeDep,
                       user: Allowed(), paging: PagingDep) -> dict:
    owner = await _owner(session, user, user_id, "view_users")
    page = await tokens.list_tokens(session, user=owner, request=paging)
    now = runtime.clock()
    return envelope(page, paging, lambda token: render_token(token, now))


@router.get("/users/{user_id}/personal_access_tokens/{id}",
            summary="Show a personal access token")
async def tokens_show(user_id: str, id: str, session: ReaderDep, runtime: RuntimeDep,
                      user: Allowed()) -> dict:
    owner = await _owner(session, user, user_id, "view_users")
    return render_token(await tokens.find_token(session, user=owner, ref=id), runtime.clock())


@router.post("/users/{user_id}/personal_access_tokens", status_code=status.HTTP_201_CREATED,
             summary="Create a personal access token (its value is shown only now)")
async def tokens_create(user_id: str, body: TokenBody, session: SessionDep,
                        runtime: RuntimeDep, user: Allowed()) -> dict:
    owner = await _owner(session, user, user_id, "edit_users")
    now = runtime.clock()
    expires_at = parse_time("expires_at", body.personal_access_token.expires_at)
    token, value = await tokens.issue_token(session, user=owner, now=now, expires_at=expires_at,
                                            name=body.personal_access_token.name)
    return {**render_token(token, now), "token_value": value}


@router.delete("/users/{user_id}/personal_access_tokens/{id}",
               summary="Revoke a personal access token")
async def tokens_revoke(user_id: str, id: str, session: SessionDep, runtime: RuntimeDep,
                        user: Allowed()) -> dict:
    owner = await _owner(session, user, user_id, "edit_users")
    token = await tokens.find_token(session, user=owner, ref=id)
    await tokens.revoke_token(session, token=token, now=runtime.clock())
    return render_token(token, runtime.clock())
