"""`rex job-invocation create|list|info|output|cancel|rerun` over /api/job_invocations."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click
from rich.text import Text

from rex.client.http import Api
from rex.client.inputs import iso_time, load_inputs
from rex.client.options import client_options, page_options, session
from rex.client.output import Printer, styled
from rex.client.watch import (
    OutputWriter,
    exit_status,
    follow_host,
    job_path,
    progress_text,
    wait_job,
)

__all__ = ["job_invocation"]

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


@click.group("job-invocation")
@client_options
def job_invocation() -> None:
    """Job invocations: create, list, info, output, cancel, rerun."""


@job_invocation.command("create")
@client_options
@click.option("--job-template", metavar="NAME|ID", help="Template to run.")
@click.option("--feature", metavar="LABEL", help="Run a feature's template (e.g. run_script).")
@click.option("--search-query", required=True, metavar="QUERY", help="Hosts to run on.")
@click.option("--dynamic", is_flag=True, help="Resolve the query when the job runs, not now.")
@click.option("--inputs", metavar="K=V,...", help="Template inputs: command='echo a, b'.")
@click.option("--inputs-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Template inputs from a JSON object; --inputs wins.")
@click.option("--effective-user", metavar="USER", help="Run the script as this user.")
@click.option("--ssh-user", metavar="USER", help="Log in as this user.")
@click.option("--concurrency-level", type=click.IntRange(min=1), metavar="N",
              help="Hosts at once.")
@click.option("--execution-timeout-interval", type=click.IntRange(min=1), metavar="SECONDS",
              help="Seconds before a host's run is stopped.")
@click.option("--start-at", metavar="TIME", help="Start no earlier than (ISO 8601; UTC if "
              "no offset).")
@click.option("--start-before", metavar="TIME", help="Fail if not started by (ISO 8601).")
@click.option("--cron-line", metavar="CRON", help="Repeat on this five-field cron line.")
@click.option("--max-iteration", type=click.IntRange(min=1), metavar="N",
              help="Stop after N repeats.")
@click.option("--end-time", metavar="TIME", help="No repeats after (ISO 8601).")
@click.option("--description-format", help="Job description, e.g. 'Run %{command}'.")
@click.option("--async", "run_async", is_flag=True, help="Print the job id and return at once.")
def job_create(**opts: Any) -> None:
    """Run a job on hosts; wait with a progress bar unless --async or scheduled.

    Exit status: 0 every host succeeded, 1 some host failed (or the job was cancelled).
    """
    body = _create_body(opts)
    api, out = session()
    job = api.post("/api/job_invocations", {"job_invocation": body})
    scheduled = "scheduling" in body or "recurrence" in body
    if opts["run_async"] or scheduled:
        _report_started(out, job, scheduled)
        return
    sys.exit(_watch(api, out, job["id"]))


def _create_body(opts: dict) -> dict:
    if bool(opts["job_template"]) == bool(opts["feature"]):
        raise click.UsageError("give either --job-template or --feature (one of them)")
    if opts["max_iteration"] is not None and not opts["cron_line"]:
        raise click.UsageError("--max-iteration needs --cron-line")
    if opts["end_time"] is not None and not opts["cron_line"]:
        raise click.UsageError("--end-time needs --cron-line")
    ref = opts["job_template"]
    body: dict = {"feature": opts["feature"]} if opts["feature"] else {
        "job_template_id": int(ref) if ref.isdigit() else ref}
    body["search_query"] = opts["search_query"]
    body["targeting_type"] = "dynamic_query" if opts["dynamic"] else "static_query"
    body["inputs"] = load_inputs(opts["inputs"], opts["inputs_file"])
    for key in ("ssh_user", "execution_timeout_interval", "description_format"):
        if opts[key] is not None:
            body[key] = opts[key]
    if opts["effective_user"]:
        body["ssh"] = {"effective_user": opts["effective_user"]}
    if opts["concurrency_level"]:
        body["concurrency_control"] = {"concurrency_level": opts["concurrency_level"]}
    body.update(_timing(opts))
    return body


def _timing(opts: dict) -> dict:
    parts: dict = {}
    scheduling = {key: iso_time(opts[key], f"'--{key.replace('_', '-')}'")
                  for key in ("start_at", "start_before") if opts[key]}
    if scheduling:
        parts["scheduling"] = scheduling
    if opts["cron_line"]:
        recurrence: dict = {"cron_line": opts["cron_line"]}
        if opts["max_iteration"]:
            recurrence["max_iteration"] = opts["max_iteration"]
        if opts["end_time"]:
            recurrence["end_time"] = iso_time(opts["end_time"], "'--end-time'")
        parts["recurrence"] = recurrence
    return parts


def _report_started(out: Printer, job: dict, scheduled: bool) -> None:
    if out.json:
        return out.dump(job)
    click.echo(job["id"])
    if scheduled:
        when = (job.get("scheduling") or {}).get("start_at") or job.get("start_at")
        out.note(f"job {job['id']} is {job.get('mode', 'scheduled')}; first start {when}")


def _watch(api: Api, out: Printer, job_id: int) -> int:
    """Wait for a job with a progress bar; print its result; return the exit status."""
    try:
        wait_job(api, job_id)
    except KeyboardInterrupt:
        out.note(f"\nstopped watching; job {job_id} keeps running "
                 f"(`rex job-invocation cancel {job_id}` stops it)")
        return EXIT_INTERRUPTED
    job = api.get(job_path(job_id), host_status=True)
    if out.json:
        out.dump(job)
    else:
        _summary(out, job)
    return EXIT_OK if job["status_label"] == "succeeded" else EXIT_FAILED


def _summary(out: Printer, job: dict) -> None:
    line = Text(f"Job {job['id']} ")
    line.append_text(styled(job["status_label"]))
    line.append(f": {progress_text(job)}")
    out.line(line)
    hosts = (job.get("targeting") or {}).get("hosts") or []
    bad = [h for h in hosts if h.get("job_status") not in ("success", None)]
    if bad:
        out.table(("Host", "Status"), [(h["name"], styled(h["job_status"])) for h in bad])
        out.note(f"see why: rex job-invocation output {job['id']} --host {bad[0]['name']}")


@job_invocation.command("list")
@client_options
@page_options
def job_list(search: str | None, page: int | None, per_page: int | None) -> None:
    """List job invocations, newest first."""
    api, out = session()
    body = api.get("/api/job_invocations", search=search, page=page, per_page=per_page)
    if out.json:
        return out.dump(body)
    rows = [(j["id"], j.get("description"), styled(j["status_label"]), j["succeeded"],
             j["failed"], j["pending"], j["cancelled"], j.get("total"), j.get("start_at"))
            for j in body["results"]]
    out.table(("Id", "Description", "Status", "Succeeded", "Failed", "Pending", "Cancelled",
               "Total", "Start at"), rows)
    out.page_footer(body, "job invocations")


@job_invocation.command("info")
@client_options
@click.argument("job_id", metavar="ID", type=int)
def job_info(job_id: int) -> None:
    """Show a job invocation: its counts and the status of every host."""
    api, out = session()
    job = api.get(job_path(job_id), host_status=True)
    if out.json:
        return out.dump(job)
    targeting = job.get("targeting") or {}
    out.fields([
        ("Id", job["id"]), ("Description", job.get("description")),
        ("Status", styled(job["status_label"])), ("Template", job.get("template_name")),
        ("Search query", targeting.get("search_query")), ("Mode", _mode(job)),
        ("Start at", job.get("start_at")), ("Effective user", job.get("effective_user")),
        ("Concurrency", job.get("concurrency_level")),
        ("Hosts", _counts(job)),
    ])
    hosts = targeting.get("hosts") or []
    if hosts:
        out.table(("Host", "Id", "Status"),
                  [(h["name"], h["id"], styled(h.get("job_status"))) for h in hosts])


def _counts(job: dict) -> str:
    return (f"{job['succeeded']} succeeded, {job['failed']} failed, {job['pending']} pending, "
            f"{job['cancelled']} cancelled, {job.get('total')} total")


def _mode(job: dict) -> str:
    mode = job.get("mode") or ""
    recurrence = job.get("recurrence") or {}
    if mode == "recurring":
        return f"recurring ({recurrence.get('cron_line')}, next {recurrence.get('next_occurence')})"
    if mode == "future":
        return f"future (start at {(job.get('scheduling') or {}).get('start_at')})"
    return mode


@job_invocation.command("output")
@client_options
@click.argument("job_id", metavar="ID", type=int)
@click.option("--host", metavar="HOST", help="Host name or id (default: every host).")
@click.option("--follow", is_flag=True, help="Keep printing until the host's output is complete.")
def job_output(job_id: int, host: str | None, follow: bool) -> None:
    """Print a host's output (stderr and debug lines go to stderr).

    Exit status 1 when the host finished with a non-zero exit status.
    """
    if follow and not host:
        raise click.UsageError("--follow needs --host")
    api, out = session()
    if host is None:
        sys.exit(_all_outputs(api, out, job_id))
    if out.json and not follow:
        body = api.get(f"{job_path(job_id)}/hosts/{quote(host, safe='')}")
        out.dump(body)
        lines = body.get("output") or []
    else:
        writer = OutputWriter(as_json=out.json)
        _, lines = follow_host(api, job_id, quote(host, safe=""), writer, follow=follow)
    sys.exit(EXIT_OK if exit_status(lines) in (None, "0") else EXIT_FAILED)


def _all_outputs(api: Api, out: Printer, job_id: int) -> int:
    body = api.get(f"{job_path(job_id)}/outputs")
    if out.json:
        out.dump(body)
    else:
        hosts = api.get(f"{job_path(job_id)}/hosts", per_page="all")["results"]
        names = {h["id"]: h["name"] for h in hosts}
        writer = OutputWriter()
        for entry in body["outputs"]:
            out.line(f"== {names.get(entry['host_id'], entry['host_id'])} ==")
            for item in entry.get("output") or []:
                writer.write(item)
            writer.end_line()
    codes = [exit_status(e.get("output") or []) for e in body["outputs"]]
    return EXIT_OK if all(c in (None, "0") for c in codes) else EXIT_FAILED


@job_invocation.command("cancel")
@client_options
@click.argument("job_id", metavar="ID", type=int)
@click.option("--force", is_flag=True, help="Stop waiting for the hosts at once (abort).")
@click.option("--search", metavar="QUERY", help="Cancel only the matching hosts.")
def job_cancel(job_id: int, force: bool, search: str | None) -> None:
    """Cancel a job invocation (or some of its hosts)."""
    api, out = session()
    body = api.post(f"{job_path(job_id)}/cancel", force=force, search=search)
    if out.json:
        return out.dump(body)
    if search:
        out.line(f"cancelled {len(body.get('cancelled', []))} of {body.get('total')} hosts "
                 f"of job {job_id}")
    else:
        out.line(f"job {job_id} cancelled")


@job_invocation.command("rerun")
@client_options
@click.argument("job_id", metavar="ID", type=int)
@click.option("--failed-only", is_flag=True, help="Rerun only the hosts that failed.")
@click.option("--succeeded-only", is_flag=True, help="Rerun only the hosts that succeeded.")
@click.option("--async", "run_async", is_flag=True, help="Print the new job's id and return.")
def job_rerun(job_id: int, failed_only: bool, succeeded_only: bool, run_async: bool) -> None:
    """Run a job again (same template, inputs and targeting); wait unless --async.

    Exit status: 0 every host succeeded, 1 some host failed.
    """
    if failed_only and succeeded_only:
        raise click.UsageError("--failed-only and --succeeded-only exclude each other")
    api, out = session()
    job = api.post(f"{job_path(job_id)}/rerun", failed_only=failed_only or None,
                   succeeded_only=succeeded_only or None)
    if run_async:
        _report_started(out, job, scheduled=False)
        return
    sys.exit(_watch(api, out, job["id"]))
