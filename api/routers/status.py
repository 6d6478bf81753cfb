"""/api/status: is rex up, and which Foreman version its API answers as."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentUserDep
from rex import __version__

router = APIRouter(tags=["home"])

# Clients compare `version`: below 2.3 the Ansible modules patch other resources and break.
FOREMAN_VERSION = "3.12.0"


@router.get("/status", summary="Show status")
async def status(user: CurrentUserDep) -> dict:
    return {"result": "ok", "status": 200, "version": FOREMAN_VERSION, "api_version": 2,
            "rex_version": __version__}
