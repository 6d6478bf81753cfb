"""/api/status: is rex up, and which version."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentUserDep
from rex import __version__

router = APIRouter(tags=["home"])


@router.get("/status", summary="Show status")
async def status(user: CurrentUserDep) -> dict:
    return {"result": "ok", "status": 200, "version": __version__, "api_version": 2}
