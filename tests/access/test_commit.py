"""A request's unit of work commits before its answer is sent: no 2xx for a lost write."""

from __future__ import annotations

from fastapi import FastAPI

from api.deps import SessionDep
from rex.models import Host
from tests import apikit


def _add_late_conflict(app: FastAPI) -> None:
    @app.post("/api/test_late_conflict", status_code=201)
    async def late(session: SessionDep) -> dict:
        session.add(Host(name="taken.example.com"))  # only the commit finds the clash
        return {"created": True}


async def test_a_commit_that_fails_is_not_answered_201(tmp_path, db_url):
    server = await apikit.start_server(apikit.test_settings(tmp_path, db_url),
                                       customize=_add_late_conflict)
    try:
        await server.client.post("/api/hosts", json={"host": {"name": "taken.example.com"}})
        response = await server.client.post("/api/test_late_conflict", json={})
        assert response.status_code == 422, response.text
        hosts = (await server.client.get("/api/hosts")).json()
        assert hosts["total"] == 1
    finally:
        await server.stop()


async def test_what_a_201_created_is_readable_at_once(api):
    for n in range(30):
        made = await api.post("/api/hosts", json={"host": {"name": f"h{n}.example.com"}})
        assert made.status_code == 201
        assert (await api.get(f"/api/hosts/{made.json()['id']}")).status_code == 200
