"""`job-invocation create` options reach the API: times, recurrence, inputs file, limits.

These jobs never start (the server has no worker), so no sshd is needed.
"""

from __future__ import annotations

import json

import pytest


@pytest.fixture
async def cli(rexlite, cli_for):
    runner = cli_for(rexlite.url)
    ran = await runner.run("host", "create", "--name", "web1.example.com", "--ip", "10.9.9.9")
    assert ran.code == 0, ran
    return runner


def created(ran) -> int:
    assert ran.code == 0, ran
    return int(ran.out)


async def show(cli, job_id: int) -> dict:
    ran = await cli.run("job-invocation", "info", str(job_id), "--output", "json")
    assert ran.code == 0, ran
    return json.loads(ran.out)


async def test_a_future_job_is_scheduled_and_not_waited_for(cli):
    job_id = created(await cli.run(
        "job-invocation", "create", "--feature", "run_script", "--search-query",
        "name = web1.example.com", "--inputs", "command=uptime",
        "--start-at", "2099-01-01T01:00:00+01:00", "--start-before", "2099-01-02T00:00:00Z"))
    job = await show(cli, job_id)
    assert job["mode"] == "future"
    assert job["scheduling"] == {"start_at": "2099-01-01 00:00:00 UTC",
                                 "start_before": "2099-01-02 00:00:00 UTC"}
    output = await cli.run("job-invocation", "output", str(job_id), "--host", "web1.example.com")
    assert (output.code, output.out) == (0, ""), output
    assert output.err == f"job {job_id} starts at 2099-01-01 00:00:00 UTC\n"


async def test_cron_line_and_max_iteration_make_a_recurrence(cli):
    job_id = created(await cli.run(
        "job-invocation", "create", "--feature", "run_script", "--search-query",
        "name = web1.example.com", "--inputs", "command=uptime",
        "--cron-line", "0 3 * * *", "--max-iteration", "2"))
    job = await show(cli, job_id)
    assert job["mode"] == "recurring"
    assert (job["recurrence"]["cron_line"], job["recurrence"]["max_iteration"]) == (
        "0 3 * * *", 2)


async def test_inputs_file_limits_and_effective_user_are_sent(cli, tmp_path):
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"command": "echo 'from, the file'"}))
    ran = await cli.run(
        "job-invocation", "create", "--job-template", "Run Command - Script Default",
        "--search-query", "name = web1.example.com", "--inputs-file", str(inputs),
        "--concurrency-level", "3", "--effective-user", "deploy",
        "--start-at", "2099-01-01T00:00:00Z", "--output", "json")
    assert ran.code == 0, ran
    job = json.loads(ran.out)
    assert (job["concurrency_level"], job["effective_user"]) == (3, "deploy")
    values = job["template_invocations"][0]["input_values"]
    assert values[0]["value"] == "echo 'from, the file'"


async def test_a_scheduled_job_can_be_cancelled(cli):
    job_id = created(await cli.run(
        "job-invocation", "create", "--feature", "run_script", "--search-query",
        "name = web1.example.com", "--inputs", "command=uptime", "--async",
        "--start-at", "2099-01-01T00:00:00Z"))
    ran = await cli.run("job-invocation", "cancel", str(job_id), "--output", "json")
    assert (ran.code, json.loads(ran.out)) == (0, {"cancelled": True, "id": job_id}), ran
    assert (await show(cli, job_id))["status_label"] == "cancelled"
