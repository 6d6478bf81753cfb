"""Webhooks over HTTP with real sshd hosts: signed events, retries, slow receivers, 422s."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from tests.dbkit import sqlite_url
from tests.jobs.conftest import rex_settings, start_rex
from tests.jobs.helpers import add_host, wait_job, wait_until
from tests.jobs.receiver import Receiver

pytestmark = pytest.mark.sshd
SECRET = "hook-secret-123"


@pytest.fixture
async def rex_hooks(tmp_path, sshd_rig):
    server = await start_rex(rex_settings(tmp_path, sqlite_url(tmp_path), sshd_rig,
                                          webhook_retry_seconds=0.2, webhook_timeout=30))
    yield server
    await server.stop()


async def hook(api, url: str, events: list[str]) -> dict:
    made = await api.post("/api/webhooks", json={"url": url, "events": events, "secret": SECRET})
    assert made.status_code == 201, made.text
    return made.json()


async def test_signed_events_for_hosts_and_jobs_of_both_apis(rex_hooks, receiver, sshd_host):
    api = rex_hooks.client
    await add_host(api, "hooked.example.com", sshd_host)
    made = await hook(api, receiver.url + "/ok", ["job.completed", "job.execution.completed"])
    assert made["secret"] == "*****"
    job = await api.post("/api/job_invocations", json={"job_invocation": {
        "feature": "run_script", "search_query": "name = hooked.example.com",
        "inputs": {"command": "exit 3"}}})
    await wait_job(api, job.json()["id"])
    plain = (await api.post("/api/jobs", json={"name": "plain", "script": "true",
                                               "targets": {"hosts": ["hooked.example.com"]}})).json()
    await wait_until(lambda: _count(receiver, 4), timeout=20)
    for call in receiver.calls:
        expected = "sha256=" + hmac.new(SECRET.encode(), call["body"], hashlib.sha256).hexdigest()
        assert call["headers"]["x-rex-signature"] == expected
        body = json.loads(call["body"])
        assert call["headers"]["x-rex-event"] == body["event"]
        assert call["headers"]["x-rex-delivery"] == body["delivery_id"]
        assert set(body) == {"event", "delivery_id", "timestamp",
                             "job" if body["event"] == "job.completed" else "execution"}
    events = sorted((b["event"], b.get("job", b.get("execution"))["invocation_id"
                     if "execution" in b else "id"]) for b in receiver.bodies("/ok"))
    ids = sorted([job.json()["id"], plain["invocation_ids"][0]])
    assert events == sorted([("job.completed", i) for i in ids]
                            + [("job.execution.completed", i) for i in ids])
    failed = next(b for b in receiver.bodies("/ok") if b["event"] == "job.execution.completed"
                  and b["execution"]["exit_code"] == 3)
    assert failed["execution"]["host_name"] == "hooked.example.com"
    deliveries = (await api.get(f"/api/webhooks/{made['id']}/deliveries")).json()
    assert deliveries["total"] == 4
    assert {d["state"] for d in deliveries["results"]} == {"delivered"}


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.calls) >= n


async def test_a_failing_receiver_is_retried_and_a_slow_one_delays_no_job(rex_hooks, receiver,
                                                                          sshd_host):
    api = rex_hooks.client
    await add_host(api, "h.example.com", sshd_host)
    flaky = await hook(api, receiver.url + "/flaky", ["job.completed"])
    await hook(api, receiver.url + "/slow", ["job.completed", "job.cancelled"])
    started = time.monotonic()
    job = (await api.post("/api/jobs", json={"name": "quick", "script": "true",
                                             "targets": {"hosts": ["h.example.com"]}})).json()

    async def done():
        return (await api.get(f"/api/jobs/{job['id']}")).json()["status"] == "succeeded"

    await wait_until(done, timeout=20)
    assert time.monotonic() - started < 10  # the slow receiver is still sleeping

    async def delivered():
        got = (await api.get(f"/api/webhooks/{flaky['id']}/deliveries")).json()["results"]
        return got if got and got[0]["state"] == "delivered" else None

    [delivery] = await wait_until(delivered, timeout=20)
    assert delivery["attempts"] == 3
    flaky_calls = [c for c in receiver.calls if c["path"] == "/flaky"]
    assert len(flaky_calls) == 3
    assert len({c["headers"]["x-rex-delivery"] for c in flaky_calls}) == 1  # one delivery, retried
    assert flaky_calls[2]["at"] - flaky_calls[1]["at"] >= 0.4  # backoff 0.2 s, then 0.4 s


async def test_a_cancelled_job_sends_job_cancelled(rex_hooks, receiver, sshd_host):
    api = rex_hooks.client
    await add_host(api, "c.example.com", sshd_host)
    await hook(api, receiver.url + "/ok", ["job.cancelled"])
    job = (await api.post("/api/jobs", json={"name": "later", "script": "true",
                                             "schedule": "0 0 1 1 *",
                                             "targets": {"hosts": ["c.example.com"]}})).json()
    await api.post(f"/api/jobs/{job['id']}/cancel", json={})
    await wait_until(lambda: _count(receiver, 1), timeout=20)
    [body] = receiver.bodies("/ok")
    assert body["event"] == "job.cancelled" and body["job"]["cancelled_by"] == "admin"


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "ftp://x", "events": ["job.completed"], "secret": SECRET}, "url"),
    ({"events": ["job.completed"], "secret": SECRET}, "url"),
    ({"url": "http://127.0.0.1:9", "events": ["job.exploded"], "secret": SECRET}, "events"),
    ({"url": "http://127.0.0.1:9", "events": [], "secret": SECRET}, "events"),
    ({"url": "http://127.0.0.1:9", "events": ["job.completed"]}, "secret"),
    ({"url": "http://127.0.0.1:9", "events": ["job.completed"], "secret": "short"}, "secret"),
])
async def test_bad_webhooks_are_a_422_and_nothing_is_stored(api, body, field):
    response = await api.post("/api/webhooks", json=body)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["errors"]
    assert (await api.get("/api/webhooks")).json()["total"] == 0
