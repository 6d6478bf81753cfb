"""apypie (the library under the Ansible modules) drives rex by resource and action names."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests import apikit
from tests.apikit import ADMIN_PASSWORD, start_server

apypie = pytest.importorskip("apypie")  # in the `test` extra


def foreman_api(url: str, cache: Path) -> apypie.ForemanApi:
    """Return apypie's Foreman client for rex at `url`, caching the document under `cache`."""
    return apypie.ForemanApi(uri=url, username="admin", password=ADMIN_PASSWORD,
                             apidoc_cache_dir=str(cache), verify_ssl=False)


def call_status(api: apypie.ForemanApi) -> dict:
    """Call `home.status`, the first call every Ansible module makes (sync: run it in a thread)."""
    return api.resource("home").call("status")


def create_job(api: apypie.ForemanApi) -> tuple[dict, dict]:
    """Create a host and a job on it through apypie, as the Ansible modules do."""
    host = api.create("hosts", {"name": "web1.example.com", "ip": "192.0.2.10",
                                "host_parameters_attributes": [
                                    {"name": "role", "value": "web", "parameter_type": "string"}]})
    template = api.list("job_templates", search='name="Run Command - Script Default"')[0]
    job = api.resource_action("job_invocations", "create", {
        "job_template_id": template["id"],
        "targeting_type": "static_query",
        "search_query": "name = web1.example.com",
        "inputs": {"command": "echo from apypie"},
        "execution_timeout_interval": 30,
        "description_format": "apypie %{command}",
    })
    return host, job


async def test_apypie_calls_resources_and_actions_and_nothing_is_dropped(live, tmp_path):
    api = foreman_api(live.url, tmp_path / "cache")
    status = await asyncio.to_thread(call_status, api)
    assert status["version"] == "3.12.0"
    host, job = await asyncio.to_thread(create_job, api)
    assert host["parameters"][0]["name"] == "role"
    assert isinstance(job["id"], int) and job["task"]["id"] == job["dynflow_task"]["id"]
    assert set(job["task"]) >= {"id", "state"}
    assert not {"action", "state", "started_at"} <= set(job)  # else clients wait on it as a task
    assert job["targeting"]["search_query"] == "name = web1.example.com"
    assert job["execution_timeout_interval"] == 30
    assert job["description"] == "apypie echo from apypie"
    values = job["pattern_template_invocations"][0]["input_values"]
    assert [(v["template_input_name"], v["value"]) for v in values] == [
        ("command", "echo from apypie")]
    output = await asyncio.to_thread(api.resource_action, "job_invocations", "output",
                                     {"job_invocation_id": job["id"], "host_id": host["id"]})
    assert {"complete", "refresh", "output"} <= set(output)
    task = await asyncio.to_thread(  # not api.show: it would wait for the task to finish
        lambda: api.resource("foreman_tasks").call("show", {"id": job["task"]["id"]}))
    assert task["id"] == job["task"]["id"] and task["state"] in ("planned", "running")
    assert task["pending"] is True


def add_widgets(app: FastAPI) -> None:
    """Add a route, as a newer rex would have."""

    @app.get("/api/widgets", summary="List widgets")
    async def widgets() -> dict:
        return {"results": []}


async def test_a_new_route_changes_the_checksum_and_apypie_reloads_its_cache(live, tmp_path,
                                                                              db_url):
    cache = tmp_path / "cache"
    old = foreman_api(live.url, cache)
    await asyncio.to_thread(call_status, old)
    assert "widgets" not in old.resources
    newer = await start_server(apikit.test_settings(tmp_path / "newer", db_url),
                               customize=add_widgets)
    try:
        before = (await live.client.get("/api/status")).headers["apipie-checksum"]
        after = (await newer.client.get("/api/status")).headers["apipie-checksum"]
        assert before != after
        upgraded = foreman_api(newer.url, cache)  # the cache the old server's document filled
        assert upgraded.apidoc_cache_name == before
        await asyncio.to_thread(call_status, upgraded)
        assert upgraded.apidoc_cache_name == after
        assert "widgets" in await asyncio.to_thread(lambda: upgraded.resources)
    finally:
        await newer.stop()
