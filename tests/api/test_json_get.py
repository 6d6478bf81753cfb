"""Search and paging from a JSON body on GET (nailgun sends them so), on every index route."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from api import create_app
from api.apidoc import build_apidoc
from rex.config import Settings
from tests import apikit
from tests.dbkit import sqlite_url

SEARCH_CLASS = "ScopedSearch::QueryNotSupported"


def index_routes() -> list[str]:
    """Every GET path of the document that pages (declares `per_page`), in Apipie form."""
    doc = build_apidoc(create_app(Settings(database_url="sqlite+aiosqlite:///:memory:")))
    paths = {
        api["api_url"]
        for resource in doc.document["docs"]["resources"].values()
        for method in resource["methods"]
        if any(p["name"] == "per_page" for p in method["params"])
        for api in method["apis"]
        if api["http_method"] == "GET"
    }
    return sorted(paths)


@pytest.fixture(scope="module")
async def server(tmp_path_factory):
    """One live rex (SQLite) with a host, a template and a job for the nested index routes."""
    tmp = tmp_path_factory.mktemp("json-get")
    live = await apikit.start_server(apikit.test_settings(tmp, sqlite_url(tmp)))
    api = live.client
    host = (await api.post("/api/hosts", json={"name": "json1.example.com"})).json()
    job = (await api.post("/api/job_invocations", json={"job_invocation": {
        "feature": "run_script", "search_query": "name = json1.example.com",
        "inputs": {"command": "true"}}})).json()
    plain = (await api.post("/api/jobs", json={
        "name": "json", "script": "true", "targets": {"hosts": ["json1.example.com"]}})).json()
    ids = {"hosts": host["id"], "job_invocations": job["id"], "templates": job["template_id"],
           "job_templates": job["template_id"], "jobs": plain["id"],
           "webhooks": (await api.post("/api/webhooks", json={
               "url": "http://127.0.0.1:9/h", "events": ["job.completed"],
               "secret": "secret-123"})).json()["id"],
           "playbooks": 1}
    yield live, ids
    await live.stop()


def concrete(path: str, ids: dict[str, int]) -> str:
    """Fill `:param`s with the id of the resource named just before each (else 1)."""
    parts = path.split("/")
    return "/".join(
        str(ids.get(parts[i - 1], 1)) if part.startswith(":") else part
        for i, part in enumerate(parts)
    )


def get_with_body(client: httpx.AsyncClient, path: str, body: dict, **params):
    """Send a GET whose parameters travel in a JSON body."""
    return client.request("GET", path, content=json.dumps(body), params=params or None,
                          headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("path", index_routes())
async def test_index_reads_search_and_paging_from_a_json_body(server, path):
    live, ids = server
    url = concrete(path, ids)
    body = {"search": "name = no-such-thing", "page": 2, "per_page": 1, "order": "id DESC"}
    response = await get_with_body(live.client, url, body)
    if response.status_code == 400:  # read, but this index has no `name` (or `id`) field
        assert response.json()["error"]["class"] == SEARCH_CLASS
        body = {"page": 2, "per_page": 1}
        response = await get_with_body(live.client, url, body)
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert (envelope["page"], envelope["per_page"]) == (2, 1)
    assert envelope["search"] == body.get("search")
    if "order" in body:
        assert envelope["sort"] == {"by": "id", "order": "DESC"}


@pytest.mark.parametrize("path", index_routes())
async def test_the_query_string_wins_over_the_body(server, path):
    live, ids = server
    response = await get_with_body(live.client, concrete(path, ids), {"per_page": 1, "page": 3},
                                   per_page="2")
    assert response.status_code == 200, response.text
    assert (response.json()["per_page"], response.json()["page"]) == (2, 3)


async def test_a_comma_between_search_terms_means_and(server):
    live, _ = server
    client = live.client
    await client.post("/api/hosts", json={"name": "json2.example.com", "comment": "x"})
    body = {"search": 'name ~ json, comment = "x"', "per_page": "all"}
    names = [h["name"] for h in (await get_with_body(client, "/api/hosts", body)).json()["results"]]
    assert names == ["json2.example.com"]


@pytest.mark.parametrize("body", [b"[1, 2]", b"not json", b'{"search": {"nested": 1}}', b""])
async def test_a_body_that_is_no_json_object_is_ignored(server, body):
    live, _ = server
    response = await live.client.request("GET", "/api/hosts", content=body,
                                         headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json()["search"] is None


def test_every_index_route_is_listed():
    assert {"/api/hosts", "/api/job_invocations", "/api/job_templates",
            "/foreman_tasks/api/tasks", "/api/templates/:template_id/template_inputs",
            "/api/job_invocations/:id/hosts"} <= set(index_routes())
    assert all(not re.search(r"\{", path) for path in index_routes())
