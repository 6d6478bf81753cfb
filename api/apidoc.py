"""The Apipie document (`/apidoc/v2.json`), generated from the app's routes and pydantic schemas.

Foreman's own clients (the Ansible modules through apypie, hammer) download this document and
route every call through it by resource and action name, so it is built from what rex really
serves: each FastAPI route under `/api` (listed once, not again under `/api/v2`) or
`/foreman_tasks/api` becomes one `apis` entry of a method; its path, query and body parameters
become Apipie params, body models nested under their resource key. Names follow Foreman
(`job_invocations.output`, `home.status`); a route nobody named gets REST names from its path,
so routes added later are documented without touching this module.
"""

from __future__ import annotations

import hashlib
import json
import re
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from pydantic.fields import FieldInfo

__all__ = [
    "DOCUMENTED_PREFIXES",
    "ApiDoc",
    "api_url",
    "build_apidoc",
    "current_apidoc",
    "documented_routes",
    "resource_action",
]

DOCUMENTED_PREFIXES = ("/api/", "/foreman_tasks/api/")
UNDOCUMENTED_PREFIXES = ("/api/v2/",)  # the same routes again; Apipie lists them once

# Foreman's names where the REST rules below would pick others.
NAMES: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/api/status"): ("home", "status"),
    ("GET", "/api/current_user"): ("users", "show_current"),
    ("GET", "/api/job_invocations/{job_invocation_id}/hosts/{host_id}"): (
        "job_invocations", "output"),
    ("GET", "/api/job_invocations/{job_invocation_id}/hosts/{host_id}/raw"): (
        "job_invocations", "raw_output"),
    ("GET", "/api/hosts/{id}/facts"): ("fact_values", "index"),
    ("DELETE", "/api/hosts/{id}/ssh_host_key"): ("hosts", "forget_ssh_host_key"),
    ("GET", "/foreman_tasks/api/tasks"): ("foreman_tasks", "index"),
    ("GET", "/foreman_tasks/api/tasks/{id}"): ("foreman_tasks", "show"),
}
MEMBER_ACTIONS = {"GET": "show", "PUT": "update", "PATCH": "update", "DELETE": "destroy",
                  "POST": "create"}
COLLECTION_ACTIONS = {"GET": "index", "POST": "create", "PUT": "update", "DELETE": "destroy"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

BOOLEAN = "Must be one of: <code>true</code>, <code>false</code>, <code>1</code>, <code>0</code>."
VALIDATORS = {
    "string": "Must be a String",
    "numeric": "Must be a number.",
    "boolean": BOOLEAN,
    "hash": "Must be a Hash",
    "array": "Must be an array of any type",
}
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


@dataclass(frozen=True)
class ApiDoc:
    """The generated document, its JSON bytes and the checksum clients compare."""

    document: dict
    body: bytes
    checksum: str


def build_apidoc(app: FastAPI) -> ApiDoc:
    """Generate the Apipie document for every route `app` serves under `/api`."""
    document = {"docs": {
        "name": "Foreman",
        "info": "rex: remote execution over SSH, speaking Foreman's API v2",
        "copyright": "",
        "doc_url": "/apidoc/v2",
        "api_url": "/api",
        "link_extension": ".html",
        "resources": _resources(app),
    }}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return ApiDoc(document=document, body=canonical, checksum=hashlib.sha256(canonical).hexdigest())


def documented_routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    """Yield (method, full path, route) for every route the document must describe."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path
        if not isinstance(route, APIRoute) or not path.startswith(DOCUMENTED_PREFIXES):
            continue
        if path.startswith(UNDOCUMENTED_PREFIXES):
            continue
        for method in sorted(context.methods or (), key=_method_order):
            if method in METHODS:
                yield method, path, context


def api_url(path: str) -> str:
    """Turn a FastAPI path (`/api/hosts/{id}`) into Apipie's form (`/api/hosts/:id`)."""
    return _PARAM.sub(lambda m: ":" + m.group(1), path)


def resource_action(method: str, path: str) -> tuple[str, str]:
    """Name a route as Foreman does: (resource, action)."""
    if (method, path) in NAMES:
        return NAMES[(method, path)]
    rest = path.removeprefix("/foreman_tasks").removeprefix("/api")
    segments = [s for s in rest.split("/") if s]
    if not segments:
        return "home", "index"
    if _is_param(segments[-1]):
        statics = [s for s in segments if not _is_param(s)] or ["home"]
        return statics[-1], MEMBER_ACTIONS.get(method, method.lower())
    if len(segments) >= 2 and not _is_param(segments[-2]):
        return segments[-2], segments[-1]
    if len(segments) >= 3 and segments[-2] == "{id}":
        return segments[-3], segments[-1]
    return segments[-1], COLLECTION_ACTIONS.get(method, method.lower())


def _method_order(method: str) -> int:
    return METHODS.index(method) if method in METHODS else len(METHODS)


def _is_param(segment: str) -> bool:
    return segment.startswith("{")


def _resources(app: FastAPI) -> dict[str, dict]:
    resources: dict[str, dict] = {}
    for method, path, route in documented_routes(app):
        name, action = resource_action(method, path)
        resource = resources.setdefault(name, _resource(name))
        entry = next((m for m in resource["methods"] if m["name"] == action), None)
        if entry is None:
            entry = _method(name, action)
            resource["methods"].append(entry)
        entry["apis"].append({
            "api_url": api_url(path),
            "http_method": method,
            "short_description": route.summary or f"{action} {name}",
            "deprecated": None,
        })
        _merge(entry["params"], _route_params(route, name, update=action == "update"))
    return resources


def _resource(name: str) -> dict:
    return {
        "doc_url": f"/apidoc/v2/{name}",
        "id": name,
        "api_url": "/api",
        "name": name.replace("_", " ").title(),
        "short_description": None,
        "full_description": None,
        "version": "v2",
        "formats": None,
        "metadata": None,
        "methods": [],
        "headers": [],
        "deprecated": None,
    }


def _method(resource: str, action: str) -> dict:
    return {
        "doc_url": f"/apidoc/v2/{resource}/{action}",
        "name": action,
        "apis": [],
        "formats": None,
        "full_description": "",
        "errors": [],
        "params": [],
        "examples": [],
        "metadata": None,
        "see": [],
        "headers": [],
        "show": True,
        "deprecated": None,
    }


def _merge(params: list[dict], more: list[dict]) -> None:
    known = {p["name"] for p in params}
    params.extend(p for p in more if p["name"] not in known)


def _route_params(route: Any, resource: str, *, update: bool) -> list[dict]:
    """Path params first, then query params, then body fields (first name wins)."""
    params: list[dict] = []
    dependants = list(_dependants(route.dependant))
    for field in (f for d in dependants for f in d.path_params):
        params.append(_param(field.alias, None, field.field_info, required=True,
                             description=_path_description(field.alias, resource)))
    for field in (f for d in dependants for f in d.query_params):
        info = field.field_info
        params.append(_param(field.alias, info.annotation, info,
                             required=info.is_required() and not update))
    for field in (f for d in dependants for f in d.body_params):
        model = _model(field.field_info.annotation)
        if model is None:
            info = field.field_info
            params.append(_param(field.alias, info.annotation, info, required=info.is_required()))
        else:
            params.extend(_model_params(model, prefix="", update=update))
    unique: list[dict] = []
    _merge(unique, params)
    return unique


def _dependants(dependant: Any) -> Iterator[Any]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _model_params(model: type[BaseModel], *, prefix: str, update: bool) -> list[dict]:
    params = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        full = f"{prefix}[{key}]" if prefix else key
        params.append(_param(key, info.annotation, info, full_name=full,
                             required=info.is_required() and not update, update=update))
    return params


def _param(name: str, annotation: Any, info: FieldInfo, *, required: bool,
           full_name: str | None = None, description: str | None = None,
           update: bool = False) -> dict:
    expected, allow_nil, model = _expected_type(annotation)
    if annotation is None:  # a path parameter: ids may be names or UUIDs
        expected, allow_nil = "string", False
    text = description or info.description or name.replace("_", " ").capitalize()
    param = {
        "name": name,
        "full_name": full_name or name,
        "description": f"\n<p>{text}</p>\n",
        "required": required,
        "allow_nil": allow_nil or not required,
        "allow_blank": False,
        "validator": _validator(expected, annotation),
        "expected_type": expected,
        "metadata": None,
        "show": True,
        "validations": [],
    }
    if model is not None:
        param["params"] = _model_params(model, prefix=param["full_name"], update=update)
    return param


def _path_description(name: str, resource: str) -> str:
    owner = resource if name == "id" else name.removesuffix("_id")
    return f"ID or name of the {owner.removesuffix('s').replace('_', ' ')}"


def _model(annotation: Any) -> type[BaseModel] | None:
    members = _members(annotation)
    return members[0] if len(members) == 1 and _is_model(members[0]) else None


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _members(annotation: Any) -> list[Any]:
    if get_origin(annotation) in (Union, types.UnionType):
        return [a for a in get_args(annotation) if a is not type(None)]
    return [annotation]


def _expected_type(annotation: Any) -> tuple[str, bool, type[BaseModel] | None]:
    """Return Apipie's expected_type, whether null is allowed and a nested model, if any."""
    if annotation is None:
        return "string", False, None
    allow_nil = get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(
        annotation)
    members = _members(annotation)
    if len(members) == 1 and _is_model(members[0]):
        return "hash", allow_nil, members[0]
    origins = [get_origin(m) or m for m in members]
    containers = [(o, m) for o, m in zip(origins, members, strict=True) if o in (list, tuple, dict)]
    if len(containers) == 1:  # one container; any JSON value (list or dict) reads as a scalar
        origin, member = containers[0]
        if origin is dict:
            return "hash", allow_nil, None
        item = next(iter(get_args(member)), None)
        return "array", allow_nil, item if _is_model(item) else None
    for kind, expected in ((str, "string"), (Literal, "string"), (bool, "boolean"),
                           (int, "numeric"), (float, "numeric")):
        if kind in origins:
            return expected, allow_nil, None
    return "string", allow_nil, None


def _validator(expected: str, annotation: Any) -> str:
    for member in _members(annotation):
        if get_origin(member) is Literal:
            return "Must be one of: " + ", ".join(f"<code>{v}</code>" for v in get_args(member))
    return VALIDATORS.get(expected, "Must be a String")


# Documents already generated in this process, by the routes they describe: every app built
# from the same code serves the same document (tests start hundreds of apps).
_GENERATED: dict[tuple, ApiDoc] = {}


def current_apidoc(app: FastAPI) -> ApiDoc:
    """Return the app's document, generated once (at startup) and kept in `app.state`."""
    apidoc = getattr(app.state, "apidoc", None)
    if apidoc is None:
        routes = tuple((getattr(r, "path", None), tuple(sorted(getattr(r, "methods", None) or ())),
                        getattr(getattr(r, "endpoint", None), "__qualname__", None),
                        getattr(getattr(r, "endpoint", None), "__module__", None))
                       for r in app.routes)
        apidoc = _GENERATED.get(routes)
        if apidoc is None:
            apidoc = _GENERATED[routes] = build_apidoc(app)
        app.state.apidoc = apidoc
    return apidoc
