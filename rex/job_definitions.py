"""Job definitions: one JSON file per job in REX_JOBS_DIR, checked here.

A definition (its `id` is the file name without `.json`) has a `name`, `description`,
`enabled`, `priority` 1-10, a `schedule` (exactly one of `intervalMinutes`, `cronExpression`,
`runAt`, `calendar`), `events`, `parameters`, ordered `tasks`, an optional `condition` with
`alternateJobId`, `osFilter` and `targets`. `check()` returns every error with the path of
the field it is about, and warnings (a `runAt` in the past never runs). The files are the
source of truth; rex never writes them.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from croniter import croniter

__all__ = ["Checked", "build_script", "build_segments", "check", "cycle_errors"]

ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")
PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
EXECUTION_TYPES = ("Service", "User", "UserElevated", "Http", "UserDesktop")
SCRIPT_TYPES = {"bash": "bash", "sh": "/bin/sh", "python": "python3",
                "powershell": "pwsh -NoProfile -File"}
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
SCHEDULE_MODES = ("intervalMinutes", "cronExpression", "runAt", "calendar")
BUILTIN_EVENTS = ("Startup", "HostCreated", "HostFactsUpdated")
TOP_KEYS = {"id", "name", "description", "enabled", "priority", "schedule", "events",
            "parameters", "tasks", "condition", "alternateJobId", "osFilter", "targets"}


@dataclass
class Checked:
    """A definition with what is wrong (errors) or worth knowing (warnings) about it."""

    definition: dict[str, Any]
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, path: str, message: str) -> None:
        """Record one error at `path`."""
        self.errors.append({"path": path, "message": message})

    @property
    def valid(self) -> bool:
        """Tell whether it may be loaded."""
        return not self.errors


def check(data: Any, filename: str, *, now: datetime) -> Checked:
    """Check one definition read from `filename`; never raises."""
    checked = Checked(data if isinstance(data, dict) else {})
    if not isinstance(data, Mapping):
        checked.error("", "a job definition must be a JSON object")
        return checked
    stem = filename.removesuffix(".json")
    if not filename.endswith(".json"):
        checked.error("", f"{filename} is not a .json file")
    if data.get("id") != stem:
        checked.error("id", f"must equal the file name without .json ({stem!r})")
    elif not ID.fullmatch(stem):
        checked.error("id", "must be letters, digits, _ . and -")
    for key in sorted(set(data) - TOP_KEYS):
        checked.error(key, "is not a job definition field")
    if not isinstance(data.get("name"), str) or not data.get("name", "").strip():
        checked.error("name", "is required")
    if not isinstance(data.get("enabled", True), bool):
        checked.error("enabled", "must be true or false")
    priority = data.get("priority", 5)
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 10:
        checked.error("priority", "must be a whole number from 1 to 10")
    _schedule(checked, data.get("schedule"), now)
    _events(checked, data.get("events"))
    names = _parameters(checked, data.get("parameters"))
    _tasks(checked, data.get("tasks"), names)
    _os_filter(checked, data.get("osFilter"))
    if data.get("alternateJobId") is not None and not data.get("condition"):
        checked.error("alternateJobId", "needs a condition (it runs when the condition is false)")
    if data.get("targets") is not None and not isinstance(data.get("targets"), Mapping):
        checked.error("targets", "must be a targets object")
    return checked


def _schedule(checked: Checked, schedule: Any, now: datetime) -> None:
    if schedule is None:
        return
    if not isinstance(schedule, Mapping):
        checked.error("schedule", "must be an object")
        return
    modes = [m for m in SCHEDULE_MODES if schedule.get(m) is not None]
    if len(modes) != 1:
        checked.error("schedule", f"needs exactly one of {', '.join(SCHEDULE_MODES)}"
                      + (f" (has {', '.join(modes)})" if modes else ""))
        return
    mode, value = modes[0], schedule[modes[0]]
    path = f"schedule.{mode}"
    if mode == "intervalMinutes":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            checked.error(path, "must be a whole number of minutes, at least 1")
    elif mode == "cronExpression":
        if not isinstance(value, str) or not croniter.is_valid(value):
            checked.error(path, f"is not a valid cron expression: {value!r}")
    elif mode == "runAt":
        at = parse_utc(value)
        if at is None:
            checked.error(path, "must be an ISO 8601 UTC time, e.g. 2026-12-01T03:00:00Z")
        elif at <= now:
            checked.warnings.append(f"schedule.runAt {value} is in the past: the job never runs")
    else:
        _calendar(checked, value)


def _calendar(checked: Checked, value: Any) -> None:
    if not isinstance(value, list) or not value:
        checked.error("schedule.calendar", 'must be a list of {"daysOfWeek", "time"}')
        return
    for i, entry in enumerate(value):
        path = f"schedule.calendar[{i}]"
        days = entry.get("daysOfWeek") if isinstance(entry, Mapping) else None
        if not isinstance(days, list) or not days or not all(
                isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in days):
            checked.error(f"{path}.daysOfWeek", "must list ISO days 1 (Monday) to 7 (Sunday)")
        if not isinstance(entry, Mapping) or not isinstance(entry.get("time"), str) \
                or not TIME.fullmatch(entry["time"]):
            checked.error(f"{path}.time", "must be HH:MM (UTC)")


def parse_utc(value: Any) -> datetime | None:
    """Read an ISO 8601 time; naive means UTC; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _events(checked: Checked, events: Any) -> None:
    if events is None:
        return
    if not isinstance(events, list) or not all(isinstance(e, str) and e.strip() for e in events):
        checked.error("events", f"must be a list of event names ({', '.join(BUILTIN_EVENTS)} "
                      "or your own)")


def _parameters(checked: Checked, parameters: Any) -> set[str]:
    if parameters is None:
        return set()
    if not isinstance(parameters, list):
        checked.error("parameters", "must be a list")
        return set()
    names = set()
    for i, item in enumerate(parameters):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) \
                or not PARAM.fullmatch("{" + item["name"] + "}"):
            checked.error(f"parameters[{i}].name", "is required (letters, digits and _)")
            continue
        if item.get("type", "string") not in ("string", "number", "boolean"):
            checked.error(f"parameters[{i}].type", "must be string, number or boolean")
        names.add(item["name"])
    return names


def _tasks(checked: Checked, tasks: Any, names: set[str]) -> None:
    if not isinstance(tasks, list) or not tasks:
        checked.error("tasks", "must be a non-empty list")
        return
    seen = set()
    for i, task in enumerate(tasks):
        path = f"tasks[{i}]"
        if not isinstance(task, Mapping):
            checked.error(path, "must be an object")
            continue
        if not isinstance(task.get("id"), str) or task["id"] in seen:
            checked.error(f"{path}.id", "is required and unique")
        seen.add(task.get("id"))
        kind = task.get("ExecutionType", "Service")
        kinds = [k for k in ("command", "executablePath", "script") if task.get(k) is not None]
        if kind == "Http":
            _http_task(checked, path, task, names)
        elif len(kinds) != 1:
            checked.error(path, "needs exactly one of command, executablePath or script")
        if kind == "UserDesktop":
            checked.error(f"{path}.ExecutionType", "UserDesktop is not supported: rex runs "
                          "nothing in a user's desktop session")
        elif kind not in EXECUTION_TYPES:
            checked.error(f"{path}.ExecutionType", f"must be one of {', '.join(EXECUTION_TYPES)}")
        if task.get("script") is not None and task.get("scriptType", "sh") not in SCRIPT_TYPES:
            checked.error(f"{path}.scriptType", f"must be one of {', '.join(SCRIPT_TYPES)}")
        arguments = task.get("arguments", [])
        if not isinstance(arguments, list) or not all(isinstance(a, str) for a in arguments):
            checked.error(f"{path}.arguments", "must be a list of strings")
            arguments = []
        for text in [*arguments, task.get("command") or ""]:
            for name in PARAM.findall(text):
                if name not in names:
                    checked.error(f"{path}.arguments", f"uses {{{name}}}, which is not a parameter")
        timeout = task.get("timeoutSeconds")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1):
            checked.error(f"{path}.timeoutSeconds", "must be a positive whole number")


def _http_task(checked: Checked, path: str, task: Mapping[str, Any], names: set[str]) -> None:
    url = task.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        checked.error(f"{path}.url", "an Http task needs an http:// or https:// url")
    if task.get("method", "GET") not in HTTP_METHODS:
        checked.error(f"{path}.method", f"must be one of {', '.join(HTTP_METHODS)}")
    headers = task.get("headers", {})
    if not isinstance(headers, Mapping) or not all(isinstance(v, str) for v in headers.values()):
        checked.error(f"{path}.headers", "must be an object of name: text")
    if task.get("body") is not None and not isinstance(task["body"], str):
        checked.error(f"{path}.body", "must be text")
    for text in (url if isinstance(url, str) else "", task.get("body") or ""):
        for name in PARAM.findall(text):
            if name not in names:
                checked.error(f"{path}.url", f"uses {{{name}}}, which is not a parameter")


def _os_filter(checked: Checked, os_filter: Any) -> None:
    if os_filter is None:
        return
    if not isinstance(os_filter, Mapping) or set(os_filter) - {"windows", "linux", "macOS"} \
            or not all(isinstance(v, bool) for v in os_filter.values()):
        checked.error("osFilter", 'must be {"windows", "linux", "macOS"} with true or false')


def cycle_errors(definitions: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Return, by id, why its alternateJobId cannot be followed (unknown, or a cycle)."""
    problems = {}
    for start, definition in definitions.items():
        seen, current = [start], definition.get("alternateJobId")
        while current is not None:
            if current not in definitions:
                problems[start] = f"alternateJobId {current!r} is not a loaded job definition"
                break
            if current in seen:
                problems[start] = "alternateJobId makes a cycle: " + " -> ".join([*seen, current])
                break
            seen.append(current)
            current = definitions[current].get("alternateJobId")
    return problems


def _substituted(text: str, values: Mapping[str, Any], quote: bool) -> str:
    def one(match: re.Match) -> str:
        value = "" if values.get(match.group(1)) is None else str(values[match.group(1)])
        return shlex.quote(value) if quote else value
    return PARAM.sub(one, text)


def build_script(definition: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    """Turn the tasks into one POSIX sh script: in order, stopping at a failed task unless it
    continues on failure; Service and UserElevated tasks run through `sudo -n`."""
    lines = ["rex_status=0"]
    for i, task in enumerate(definition["tasks"]):
        if task.get("command") is not None:
            body = _substituted(task["command"], values, quote=True)
        elif task.get("executablePath") is not None:
            argv = [task["executablePath"], *(_substituted(a, values, quote=False)
                                              for a in task.get("arguments", []))]
            body = shlex.join(argv)
        else:
            marker = f"REX_TASK_{i}_END"
            path = f'"$rex_dir/task{i}"'
            interpreter = SCRIPT_TYPES[task.get("scriptType", "sh")]
            lines.append(f"rex_dir=$(dirname \"$0\"); cat > {path} <<'{marker}'\n"
                         f"{task['script']}\n{marker}")
            body = f"{interpreter} {path}"
        if task.get("ExecutionType", "Service") in ("Service", "UserElevated"):
            body = f"sudo -n -- /bin/sh -c {shlex.quote(body)}"
        if task.get("timeoutSeconds"):
            body = f"timeout {int(task['timeoutSeconds'])} /bin/sh -c {shlex.quote(body)}"
        name = shlex.quote(str(task["id"]))
        stop = "" if task.get("continueOnFailure") else " exit $rc;"
        lines.append(f"echo \"== task {name}\"\n( {body} ); rc=$?\n"
                     f"if [ $rc -ne 0 ]; then echo \"task {name} failed with exit status $rc\" >&2;"
                     f"{stop} rex_status=$rc; fi")
    lines.append("exit $rex_status")  # task files live in the run directory rex removes
    return "\n".join(lines) + "\n"


def build_segments(definition: Mapping[str, Any], values: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """Split the tasks at each Http task (made by rex) into shell scripts and requests;
    None when there is no Http task (the whole job is one script)."""
    tasks = definition["tasks"]
    if not any(t.get("ExecutionType") == "Http" for t in tasks):
        return None
    segments: list[dict[str, Any]] = []
    shell: list[Mapping[str, Any]] = []
    for task in [*tasks, None]:
        if task is not None and task.get("ExecutionType") != "Http":
            shell.append(task)
            continue
        if shell:
            segments.append({"kind": "ssh", "script": build_script({"tasks": shell}, values)})
            shell = []
        if task is not None:
            segments.append({
                "kind": "http", "id": str(task["id"]), "method": task.get("method", "GET"),
                "url": _substituted(task["url"], values, quote=False),
                "headers": dict(task.get("headers") or {}),
                "body": _substituted(task.get("body") or "", values, quote=False),
                "timeoutSeconds": task.get("timeoutSeconds"),
                "continueOnFailure": bool(task.get("continueOnFailure"))})
    return segments
