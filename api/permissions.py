"""The one place routes check permissions: `user: Allowed("view_hosts")` on every route.

`Allowed(permission)` authenticates the request, loads what the user may do, answers 403
in Foreman's words when the permission is missing, and hands the route an `Access`: the
user plus `scope(permission)`, the SQL condition for the rows a filtered role reaches.
`Allowed()` (no permission) only authenticates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends

from api.deps import CurrentUserDep, RuntimeDep
from rex.errors import AccessDenied
from rex.models import User
from rex.permissions import Grants, load_grants

__all__ = ["Access", "Allowed", "current_access"]


@dataclass(frozen=True)
class Access:
    """The authenticated user and what they may do."""

    user: User
    grants: Grants

    @property
    def id(self) -> int:
        """Return the user's id."""
        return self.user.id

    @property
    def login(self) -> str:
        """Return the user's login."""
        return self.user.login

    def require(self, permission: str) -> None:
        """Raise AccessDenied (403) unless the user holds `permission`."""
        if not self.grants.allows(permission):
            raise AccessDenied([permission])

    def scope(self, permission: str) -> Any:
        """Return the SQL condition for the rows `permission` reaches (None: every row)."""
        return self.grants.scope(permission)


async def current_access(user: CurrentUserDep, runtime: RuntimeDep) -> Access:
    """Authenticate the request and load the user's permissions."""
    if user.admin:
        return Access(user, Grants(admin=True))
    async with runtime.db.reader() as session:
        return Access(user, await load_grants(session, user))


def Allowed(permission: str | None = None) -> Any:  # capitalised: it reads as a type
    """Return the dependency type of a route that needs `permission` (None: any signed-in user)."""

    async def allowed(access: Annotated[Access, Depends(current_access)]) -> Access:
        if permission is not None:
            access.require(permission)
        return access

    allowed.__name__ = f"allowed_{permission or 'signed_in'}"
    return Annotated[Access, Depends(allowed)]
