"""Playbooks: parameters and ordered steps (a script, a template or an approval gate).

    parameters: [{"name", "type": string|number|boolean, "default", "required"}]
    steps: [{"id", "script" + "runtime" | "job_template_id", "inputs": {name: template},
             "condition": "<expression>", "timeout_seconds", "continue_on_failure"}
            | {"id", "type": "approval", "approval_timeout_seconds"}]

Inputs are small Jinja2 templates and conditions Jinja2 expressions, both sandboxed, over
`params`, `host` and `steps` (this host's earlier results). A script step's inputs reach
the script as environment variables; the script itself runs as written. Running them is
rex.playbook_runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rex.errors import NotFound, ValidationFailed
from rex.integrity import digest
from rex.models import JobTemplate, Playbook
from rex.refs import as_id
from rex.vault import ENV_NAME
from rex.wrapper import RUNTIMES

__all__ = ["create_playbook", "find_playbook", "playbook_view", "resolve_parameters",
           "update_playbook"]

STEP_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
TYPES = {"string": str, "number": (int, float), "boolean": bool}
STEP_KEYS = {"id", "script", "runtime", "job_template_id", "inputs", "condition",
             "timeout_seconds", "continue_on_failure"}
GATE_KEYS = {"id", "type", "approval_timeout_seconds"}


def _fail(path: str, message: str) -> ValidationFailed:
    return ValidationFailed.field(path, message)


def _parameters(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _fail("parameters", "must be a list")
    seen, result = set(), []
    for i, item in enumerate(raw):
        path = f"parameters[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) \
                or not ENV_NAME.fullmatch(item["name"]):
            raise _fail(path, "needs a name of letters, digits and _")
        if item["name"] in seen:
            raise _fail(path, f"{item['name']} is given twice")
        kind = item.get("type", "string")
        if kind not in TYPES:
            raise _fail(f"{path}.type", "must be string, number or boolean")
        if item.get("default") is not None:
            _typed(f"{path}.default", item["default"], kind)
        seen.add(item["name"])
        result.append({"name": item["name"], "type": kind, "default": item.get("default"),
                       "required": bool(item.get("required", False))})
    return result


def _typed(path: str, value: Any, kind: str) -> Any:
    ok = isinstance(value, TYPES[kind]) and not (kind == "number" and isinstance(value, bool))
    if not ok:
        raise _fail(path, f"must be a {kind}")
    return value


async def _steps(session: AsyncSession, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise _fail("steps", "must be a non-empty list")
    seen: set[str] = set()
    result = []
    for i, item in enumerate(raw):
        path = f"steps[{i}]"
        if not isinstance(item, Mapping):
            raise _fail(path, "must be an object")
        if not isinstance(item.get("id"), str) or not STEP_ID.fullmatch(item["id"]):
            raise _fail(f"{path}.id", "must be letters, digits and _ (not leading digit)")
        if item["id"] in seen:
            raise _fail(f"{path}.id", f"{item['id']} is given twice")
        seen.add(item["id"])
        if item.get("type") == "approval":
            unknown = set(item) - GATE_KEYS
            if unknown:
                raise _fail(path, f"an approval gate takes no {min(unknown)}")
            timeout = item.get("approval_timeout_seconds", 86400)
            if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
                raise _fail(f"{path}.approval_timeout_seconds", "must be a positive whole number")
            result.append({"id": item["id"], "type": "approval",
                           "approval_timeout_seconds": timeout})
            continue
        result.append(await _run_step(session, path, item))
    return result


async def _run_step(session: AsyncSession, path: str, item: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(item) - STEP_KEYS - {"type"}
    if unknown or item.get("type") not in (None, "run"):
        raise _fail(path, f"unknown key {min(unknown) if unknown else 'type'}")
    step: dict[str, Any] = {"id": item["id"], "type": "run"}
    has_script, has_template = "script" in item, "job_template_id" in item
    if has_script == has_template:
        raise _fail(path, "needs exactly one of script or job_template_id")
    if has_script:
        if not isinstance(item["script"], str) or not item["script"].strip():
            raise _fail(f"{path}.script", "must be a non-empty string")
        runtime = item.get("runtime", "sh")
        if runtime not in RUNTIMES:
            raise _fail(f"{path}.runtime", f"must be one of {', '.join(RUNTIMES)}")
        step.update(script=item["script"], runtime=runtime, script_sha512=digest(item["script"]))
    else:
        ref = as_id(str(item["job_template_id"]))
        template = await session.get(JobTemplate, ref) if ref is not None else None
        if template is None:
            raise _fail(f"{path}.job_template_id", f"unknown template {item['job_template_id']}")
        step["job_template_id"] = template.id
    inputs = item.get("inputs") or {}
    if not isinstance(inputs, Mapping) or not all(isinstance(v, (str, int, float)) for v in inputs.values()):
        raise _fail(f"{path}.inputs", "must be an object of name: text")
    if has_script and not all(ENV_NAME.fullmatch(str(k)) for k in inputs):
        raise _fail(f"{path}.inputs", "names must be environment variable names for a script step")
    step["inputs"] = {str(k): str(v) for k, v in inputs.items()}
    condition = item.get("condition")
    if condition is not None and (not isinstance(condition, str) or not condition.strip()):
        raise _fail(f"{path}.condition", "must be an expression")
    step["condition"] = condition
    timeout = item.get("timeout_seconds")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1):
        raise _fail(f"{path}.timeout_seconds", "must be a positive whole number")
    step["timeout_seconds"] = timeout
    step["continue_on_failure"] = bool(item.get("continue_on_failure", False))
    return step


async def _apply(session: AsyncSession, playbook: Playbook, attrs: Mapping[str, Any]) -> None:
    if "name" in attrs:
        name = attrs["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise _fail("name", "must be 1-255 characters")
        taken = await session.scalar(select(Playbook.id).where(Playbook.name == name,
                                                               Playbook.id != (playbook.id or 0)))
        if taken is not None:
            raise _fail("name", "has already been taken")
        playbook.name = name
    if "description" in attrs:
        playbook.description = attrs["description"]
    if "parameters" in attrs:
        playbook.parameters = json.dumps(_parameters(attrs["parameters"]))
    if "steps" in attrs:
        playbook.steps = json.dumps(await _steps(session, attrs["steps"]))


async def create_playbook(session: AsyncSession, attrs: Mapping[str, Any]) -> Playbook:
    """Validate and store a playbook; 422 naming the path of the first wrong field."""
    for key in ("name", "steps"):
        if key not in attrs:
            raise _fail(key, "can't be blank")
    playbook = Playbook(parameters="[]", steps="[]")
    await _apply(session, playbook, attrs)
    session.add(playbook)
    await session.flush()
    return playbook


async def update_playbook(session: AsyncSession, playbook: Playbook, attrs: Mapping[str, Any]) -> Playbook:
    """Change the fields given."""
    await _apply(session, playbook, attrs)
    await session.flush()
    return playbook


async def find_playbook(session: AsyncSession, ref: str | int) -> Playbook:
    """Return the playbook with id (or name) `ref`, or 404."""
    text = str(ref)
    cond = Playbook.id == as_id(text) if as_id(text) is not None else Playbook.name == text
    playbook = await session.scalar(select(Playbook).where(cond))
    if playbook is None:
        raise NotFound(f"Resource playbook not found by id '{text}'")
    return playbook


def playbook_view(playbook: Playbook) -> dict[str, Any]:
    """Render a playbook."""
    return {"id": playbook.id, "name": playbook.name, "description": playbook.description,
            "parameters": json.loads(playbook.parameters), "steps": json.loads(playbook.steps),
            "builtin": playbook.builtin, "created_at": playbook.created_at,
            "updated_at": playbook.updated_at}


def resolve_parameters(playbook: Playbook, given: Any) -> dict[str, Any]:
    """Check a run's parameters against the playbook's; fill defaults; 422 when wrong."""
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise _fail("parameters", "must be an object")
    specs = {p["name"]: p for p in json.loads(playbook.parameters)}
    unknown = [k for k in given if k not in specs]
    if unknown:
        raise _fail("parameters", f"unknown parameter {unknown[0]}")
    values = {}
    for name, spec in specs.items():
        if name in given and given[name] is not None:
            values[name] = _typed(f"parameters.{name}", given[name], spec["type"])
        elif spec["default"] is not None:
            values[name] = spec["default"]
        elif spec["required"]:
            raise _fail(f"parameters.{name}", "is required")
        else:
            values[name] = None
    return values
