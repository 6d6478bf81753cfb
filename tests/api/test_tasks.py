"""/foreman_tasks/api/tasks: Foreman's task shape, search by resource, state and result."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from rex.models import HostRun, JobInvocation

TASK_KEYS = {"id": str, "label": str, "action": str, "state": str, "result": str,
             "pending": bool, "progress": float, "started_at": (str, type(None)),
             "ended_at": (str, type(None)), "input": dict, "output": dict,
             "username": (str, type(None)), "cli_example": type(None), "humanized": dict}


async def make_job(api, *names: str) -> dict:
    """Register hosts and create a job on them (no worker runs it)."""
    for name in names:
        await api.post("/api/hosts", json={"host": {"name": name}})
    body = {"feature": "run_script", "inputs": {"command": "true"},
            "search_query": f"name ^ ({', '.join(names)})"}
    response = await api.post("/api/job_invocations", json={"job_invocation": body})
    assert response.status_code == 201, response.text
    return response.json()


async def finish(live, job_id: int, results: list[str]) -> None:
    """End the job's host runs with `results`, and the job as the worker would."""
    async with live.runtime.db.unit_of_work() as session:
        runs = (await session.scalars(select(HostRun).where(HostRun.job_invocation_id == job_id)
                                      .order_by(HostRun.position))).all()
        for run, result in zip(runs, results, strict=True):
            run.state, run.result = "finished", result
            run.exit_status = 0 if result == "success" else 3
        job_result = "success" if set(results) == {"success"} else "warning"
        await session.execute(update(JobInvocation).where(JobInvocation.id == job_id).values(
            state="stopped", result=job_result, started_at=JobInvocation.created_at,
            ended_at=JobInvocation.created_at))


async def test_a_job_task_has_foremans_shape_and_warns_when_a_host_failed(live, api):
    job = await make_job(api, "a.example.com", "b.example.com")
    pending = (await api.get(f"/foreman_tasks/api/tasks/{job['task']['id']}")).json()
    for key, kind in TASK_KEYS.items():
        assert isinstance(pending[key], kind), (key, pending[key])
    assert pending["pending"] is True and pending["username"] == "admin"
    assert set(pending["humanized"]) == {"action", "input", "output", "errors"}
    await finish(live, job["id"], ["success", "error"])
    task = (await api.get(f"/foreman_tasks/api/tasks/{job['task']['id']}")).json()
    assert (task["state"], task["result"], task["pending"], task["progress"]) == (
        "stopped", "warning", False, 1.0)
    assert task["humanized"]["errors"] == ["1 of 2 hosts failed"]
    assert task["input"]["job_invocation"]["id"] == job["id"]
    assert task["output"]["success_count"] == 1 and task["output"]["failed_count"] == 1


async def test_a_job_task_succeeds_only_when_every_host_did(live, api):
    job = await make_job(api, "a.example.com", "b.example.com")
    await finish(live, job["id"], ["success", "success"])
    task = (await api.get(f"/foreman_tasks/api/tasks/{job['task']['id']}")).json()
    assert (task["result"], task["humanized"]["errors"]) == ("success", [])


async def test_host_tasks_answer_too(live, api):
    job = await make_job(api, "a.example.com")
    await finish(live, job["id"], ["error"])
    runs = (await api.get(f"/api/job_invocations/{job['id']}/template_invocations")).json()
    task_id = runs["results"][0]["run_host_job_task_id"]
    task = (await api.get(f"/foreman_tasks/api/tasks/{task_id}")).json()
    assert task["parent_task_id"] == job["task"]["id"] and task["result"] == "error"
    assert task["humanized"]["errors"] and task["input"]["host"]["name"] == "a.example.com"


async def test_tasks_are_searchable_by_resource_state_result_and_id(live, api):
    first = await make_job(api, "a.example.com")
    second = await make_job(api, "b.example.com")
    await finish(live, first["id"], ["success"])

    async def ids(search: str) -> list[str]:
        response = await api.get("/foreman_tasks/api/tasks", params={"search": search})
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["results"]]

    by_resource = f"resource_type = JobInvocation and resource_id = {second['id']}"
    assert await ids(by_resource) == [second["task"]["id"]]
    assert await ids("state = stopped") == [first["task"]["id"]]
    assert await ids("result = success, state = stopped") == [first["task"]["id"]]
    assert await ids("result = warning") == []
    assert await ids(f"id = {first['task']['id']}") == [first["task"]["id"]]
    assert await ids("label = Actions::RemoteExecution::RunHostsJob") == [
        second["task"]["id"], first["task"]["id"]]
    assert await ids("resource_type = Host") == []


@pytest.mark.parametrize("search", ["owner = admin", "resource_id = x", "state ="])
async def test_a_bad_task_search_is_400(api, search):
    response = await api.get("/foreman_tasks/api/tasks", params={"search": search})
    assert response.status_code == 400
    assert response.json()["error"]["class"] == "ScopedSearch::QueryNotSupported"
