"""Creating a job invocation: every bad input is a clear 4xx and nothing is written."""

import pytest

RUN_COMMAND = "Run Command - Script Default"


async def seeded_template_id(api) -> int:
    found = (await api.get("/api/job_templates", params={"search": f'name = "{RUN_COMMAND}"'})).json()
    return found["results"][0]["id"]


async def job_count(api) -> int:
    return (await api.get("/api/job_invocations")).json()["total"]


async def make_template(api, **fields):
    body = {"job_template": {"name": "With inputs", "template": "echo {{ input('mode') }}",
                             "job_category": "Tests", "provider_type": "SSH", **fields}}
    response = await api.post("/api/job_templates", json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def host(api):
    response = await api.post("/api/hosts", json={"host": {"name": "h1.example.com", "ip": "127.0.0.1"}})
    return response.json()


async def test_unknown_template_is_404_in_foreman_words(api, host):
    body = {"job_invocation": {"job_template_id": 9999, "search_query": "name ~ h*",
                               "targeting_type": "static_query", "inputs": {"command": "true"}}}
    response = await api.post("/api/job_invocations", json=body)
    assert response.status_code == 404
    assert response.json() == {"error": {"message": "Template with id '9999' was not found"}}
    assert await job_count(api) == 0


@pytest.mark.parametrize(
    "extra, field, words",
    [
        ({"inputs": {"command": "true", "nope": "1"}}, "inputs", "Unknown input nope"),
        ({"inputs": {}}, "inputs", "Missing inputs: command"),
        ({"search_query": "", "host_ids": None}, "search_query", "Must select a bookmark"),
        ({"bookmark_id": 3}, "bookmark_id", "Cannot specify both bookmark_id and search_query"),
        ({"bookmark_id": 3, "search_query": None}, "bookmark_id", "bookmark 3 was not found"),
        ({"targeting_type": "sometimes"}, "targeting_type", "static_query"),
        ({"concurrency_control": {"concurrency_level": 0}}, "concurrency_level", "greater than 0"),
        ({"execution_timeout_interval": -5}, "execution_timeout_interval", "greater than 0"),
        ({"host_ids": ["nosuch.example.com"], "search_query": None}, "host_ids", "nosuch"),
        ({"scheduling": {"start_at": "2001-01-01T00:00:00Z"}}, "start_at", "in the past"),
        ({"scheduling": {"start_at": "2999-01-02T00:00:00Z", "start_before": "2999-01-01T00:00:00Z"}},
         "start_before", "earlier than start_at"),
        ({"scheduling": {"start_at": "tomorrow-ish"}}, "start_at", "not a time"),
        ({"execution_timeout_interval": "soon"}, "job_invocation.execution_timeout_interval", ""),
        ({"inputs": "command=true"}, "job_invocation.inputs", ""),
    ],
)
async def test_bad_job_bodies_are_422_naming_the_problem(api, host, extra, field, words):
    template_id = await seeded_template_id(api)
    body = {"job_template_id": template_id, "targeting_type": "static_query",
            "search_query": "name ~ h*", "inputs": {"command": "true"}, **extra}
    response = await api.post("/api/job_invocations", json={"job_invocation": body})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert field in error["errors"], error
    assert words in error["message"]
    assert await job_count(api) == 0


async def test_input_outside_options_is_422(api, host):
    template = await make_template(api, template_inputs_attributes=[
        {"name": "mode", "input_type": "user", "required": True, "options": "fast\nslow"}])
    body = {"job_template_id": template["id"], "search_query": "name ~ h*",
            "targeting_type": "static_query", "inputs": {"mode": "medium"}}
    response = await api.post("/api/job_invocations", json={"job_invocation": body})
    assert response.status_code == 422
    assert "medium" in response.json()["error"]["message"]
    assert await job_count(api) == 0


async def test_feature_and_template_together_is_422(api, host):
    body = {"job_template_id": await seeded_template_id(api), "feature": "run_script",
            "search_query": "name ~ h*", "inputs": {"command": "true"}}
    response = await api.post("/api/job_invocations", json={"job_invocation": body})
    assert response.status_code == 422
    assert "Only one of feature or job_template_id" in response.json()["error"]["message"]


async def test_search_matching_no_host_ends_succeeded_with_zero_hosts(api, host):
    body = {"feature": "run_script", "search_query": "name = nothing.example.com",
            "inputs": {"command": "true"}}
    response = await api.post("/api/job_invocations", json={"job_invocation": body})
    assert response.status_code == 201
    job = response.json()
    assert (job["status"], job["status_label"], job["total"], job["total_hosts"]) == (
        0, "succeeded", 0, 0)


async def test_unknown_job_is_404_everywhere(api):
    assert (await api.get("/api/job_invocations/77")).json() == {
        "error": {"message": "Resource job_invocation not found by id '77'"}}
    nested = await api.get("/api/job_invocations/77/hosts/1")
    assert nested.status_code == 404
    assert nested.json()["message"] == "Job invocation not found by id '77'"
    assert nested.json()["error"]["message"] == "Job invocation not found by id '77'"
    for path in ("/cancel", "/rerun"):
        response = await api.post(f"/api/job_invocations/77{path}", json={})
        assert response.status_code == 404
