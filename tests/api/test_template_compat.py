"""What the Ansible job_template module stores it reads back: names, provider, inputs later."""

from __future__ import annotations

import pytest

TEMPLATE = "echo {{ input('greeting') }} from {{ host.name }}"


@pytest.mark.parametrize("provider_type", ["SSH", "script", "ssh"])
async def test_provider_type_is_echoed_as_sent(api, provider_type):
    body = {"name": f"t-{provider_type}", "template": "true", "job_category": "Tests",
            "provider_type": provider_type, "locked": False}
    created = await api.post("/api/job_templates", json={"job_template": body})
    assert created.status_code == 201, created.text
    shown = (await api.get(f"/api/job_templates/{created.json()['id']}")).json()
    for key, value in body.items():
        assert shown[key] == value, key


async def test_a_template_is_saved_before_the_inputs_it_uses(api):
    created = await api.post("/api/job_templates", json={"job_template": {
        "name": "Greeting", "template": TEMPLATE, "job_category": "Tests",
        "provider_type": "SSH"}})
    assert created.status_code == 201, created.text
    template_id = created.json()["id"]
    added = await api.post(f"/api/templates/{template_id}/template_inputs", json={
        "template_input": {"name": "greeting", "input_type": "user", "required": True}})
    assert added.status_code == 201, added.text
    inputs = (await api.get(f"/api/templates/{template_id}/template_inputs")).json()
    assert [(i["name"], i["input_type"], i["required"]) for i in inputs["results"]] == [
        ("greeting", "user", True)]
    await api.post("/api/hosts", json={"host": {"name": "h1.example.com"}})
    job = await api.post("/api/job_invocations", json={"job_invocation": {
        "job_template_id": template_id, "search_query": "name = h1.example.com",
        "inputs": {"greeting": "hi"}}})
    assert job.status_code == 201, job.text


async def test_a_job_on_a_template_missing_an_input_is_still_created(api):
    # the missing input fails each host when its script renders (tests/test_rendering.py)
    template = (await api.post("/api/job_templates", json={"job_template": {
        "name": "Dangling", "template": TEMPLATE, "job_category": "Tests"}})).json()
    await api.post("/api/hosts", json={"host": {"name": "h1.example.com"}})
    job = await api.post("/api/job_invocations", json={"job_invocation": {
        "job_template_id": template["id"], "search_query": "name = h1.example.com"}})
    assert job.status_code == 201, job.text
