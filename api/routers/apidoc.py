"""/apidoc/v2.json: the Apipie document Foreman's clients load before their first call."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.apidoc import current_apidoc

router = APIRouter(tags=["apidoc"])


@router.get("/apidoc/v2.json", summary="The Apipie document (locale ignored)")
async def document(request: Request) -> Response:
    return _json(request)


@router.get("/apidoc/v2.{locale}.json", summary="The Apipie document of a locale (all the same)")
async def localized(locale: str, request: Request) -> Response:
    return _json(request)


def _json(request: Request) -> Response:
    apidoc = current_apidoc(request.app)
    return Response(apidoc.body, media_type="application/json",
                    headers={"Apipie-Checksum": apidoc.checksum})
