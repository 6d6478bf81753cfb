"""Template triggers over HTTP with real sshd: trigger, status and logs, keys, every 4xx."""

from __future__ import annotations

import asyncio

import pytest

from tests.access.conftest import PASSWORD, make_user
from tests.jobs.helpers import add_host

pytestmark = pytest.mark.sshd
KEY = "trigger-key-42"


@pytest.fixture
async def triggered(rexd, sshd_host):
    """Two hosts and a template enabled for triggering (on tag "deploy") by a manager."""
    api = rexd.client
    await add_host(api, "d1.example.com", sshd_host, tags="deploy")
    await add_host(api, "d2.example.com", sshd_host, tags="deploy,fails")
    await add_host(api, "other.example.com", sshd_host)
    await make_user(api, "releaser", ["Remote Execution Manager"])
    async with rexd.client_as("releaser", PASSWORD) as releaser:
        made = await releaser.post("/api/job_templates", json={"job_template": {
            "name": "Deploy", "job_category": "Deploy", "provider_type": "SSH",
            "template": "echo deploying {{ input('version') }}; echo note >&2; "
                        "case {{ host.name }} in d2*) exit 4;; esac",
            "template_inputs_attributes": [{"name": "version", "default": "1.0"}],
            "api_trigger": True, "api_key": KEY, "api_trigger_targets": {"tag": "deploy"}}})
        assert made.status_code == 201, made.text
    assert made.json()["api_key"] == "*****" and made.json()["api_trigger"] is True
    return api


async def wait_status(api, token: str, timeout: float = 30) -> str:
    for _ in range(int(timeout / 0.1)):
        answer = await api.get("/api/jobs/status", params={"token": token, "key": KEY})
        assert answer.status_code == 200, answer.text
        if answer.text not in ("Pending", "Executing"):
            return answer.text
        await asyncio.sleep(0.1)
    raise AssertionError("still running")


async def test_trigger_status_and_logs_with_the_right_key(triggered, rexd):
    api = triggered
    answer = await api.post("/api/jobs/trigger", params={"template": "Deploy", "key": KEY},
                            data={"version": "2.5"})  # a form: the JSON rule does not apply
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    token = answer.text
    assert len(token) >= 20 and "\n" not in token
    assert await wait_status(api, token) == "Warning"  # d1 succeeded, d2 exited 4
    logs = await api.post("/api/jobs/logs", json={"token": token, "key": KEY})
    lines = logs.text.splitlines(keepends=True)
    assert all(line.endswith("\n") for line in lines)
    assert "INFO: d1.example.com: deploying 2.5\n" in lines
    assert "WARN: d2.example.com: note\n" in lines
    assert "DEBUG: d2.example.com: Exit status: 4\n" in lines
    assert lines[-1] == "ERROR: d2.example.com: error (exit status 4)\n"
    assert not any("other.example.com" in line for line in lines)
    jobs = (await api.get("/api/job_invocations", params={"search": "id > 0"})).json()["results"]
    audit = (await api.get("/api/audits", params={"search": "type = JobInvocation"})).json()
    assert audit["results"][0]["user_name"] == "releaser" and jobs


async def test_wrong_keys_unknown_templates_and_tokens(triggered):
    api = triggered
    cases = [
        ("/api/jobs/trigger", {"key": KEY}, 400, "Missing parameter: template"),
        ("/api/jobs/trigger", {"template": "Nope", "key": KEY}, 404, "Unknown template: Nope"),
        ("/api/jobs/trigger", {"template": "Deploy", "key": "wrong"}, 403, "Wrong key"),
        ("/api/jobs/trigger", {"template": "Deploy"}, 403, "Wrong key"),
        ("/api/jobs/trigger", {"template": "Run Command - Script Default", "key": KEY}, 403,
         "not enabled"),
        ("/api/jobs/trigger", {"template": "Deploy", "key": KEY, "colour": "red"}, 400,
         "Unknown input colour"),
        ("/api/jobs/status", {"key": KEY}, 400, "Missing parameter: token"),
        ("/api/jobs/status", {"token": "nope", "key": KEY}, 400, "Unknown token"),
        ("/api/jobs/logs", {"token": "nope", "key": KEY}, 400, "Unknown token"),
    ]
    for path, params, status, words in cases:
        answer = await api.get(path, params=params)
        assert (answer.status_code, answer.headers["content-type"].split(";")[0]) == (
            status, "text/plain"), (path, params, answer.text)
        assert words in answer.text, (path, params, answer.text)
    token = (await api.get("/api/jobs/trigger", params={"template": "Deploy", "key": KEY})).text
    for path in ("/api/jobs/status", "/api/jobs/logs"):
        wrong = await api.get(path, params={"token": token, "key": "wrong"})
        assert (wrong.status_code, wrong.text) == (403, "Wrong key\n")
    bad_json = await api.post("/api/jobs/trigger", content=b"{nope",
                              headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.text


async def test_enabling_a_trigger_needs_targets(api):
    made = await api.post("/api/job_templates", json={"job_template": {
        "name": "T", "template": "true", "api_trigger": True}})
    assert made.status_code == 422, made.text
    assert "api_trigger_targets" in made.json()["error"]["errors"]
    assert (await api.get("/api/job_templates", params={"search": "name = T"})).json()["subtotal"] == 0
