"""The Apipie document: generated from the routes, complete, and in the shape apypie reads."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from api import create_app
from api.apidoc import build_apidoc
from api.schemas import BookmarkIn, HostIn, JobInvocationIn, JobTemplateIn, TemplateInputIn
from rex.config import Settings

APP = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
DOC = build_apidoc(APP).document["docs"]
RESOURCES = DOC["resources"]

JOB_ACTIONS = {"index", "show", "create", "output", "raw_output", "outputs", "hosts", "cancel",
               "rerun", "template_invocations"}
EXPECTED = {
    "home": {"status"},
    "hosts": {"index", "show", "create", "update", "destroy"},
    "job_templates": {"index", "show", "create", "update", "destroy"},
    "template_inputs": {"index", "show", "create", "update", "destroy"},
    "job_invocations": JOB_ACTIONS,
    "foreman_tasks": {"index", "show"},
    "recurring_logics": {"index", "show"},
    "bookmarks": {"index", "show", "create", "update", "destroy"},
    "users": {"index", "show", "create", "update", "destroy"},
    "roles": {"index", "show", "create", "update", "destroy"},
}
BODIES = {
    ("hosts", "host"): HostIn,
    ("job_templates", "job_template"): JobTemplateIn,
    ("template_inputs", "template_input"): TemplateInputIn,
    ("job_invocations", "job_invocation"): JobInvocationIn,
    ("bookmarks", "bookmark"): BookmarkIn,
}


def method(resource: str, action: str) -> dict:
    """Return one method of the document."""
    return next(m for m in RESOURCES[resource]["methods"] if m["name"] == action)


def all_methods():
    """Yield (resource, method) for every method of the document."""
    for name, resource in RESOURCES.items():
        for entry in resource["methods"]:
            yield name, entry


def walk(params: list[dict]):
    """Yield every param, nested ones included."""
    for param in params:
        yield param
        yield from walk(param.get("params", []))


def served_routes():
    """Yield (method, path) of every route the app serves under an API prefix."""
    for context in iter_route_contexts(APP.routes):
        if isinstance(context.original_route, APIRoute) and re.match(
            r"^/(api|foreman_tasks/api)/", context.path
        ):
            for verb in context.methods:
                yield verb, context.path


def test_every_route_under_api_is_documented_once_under_api():
    documented = {(api["http_method"], api["api_url"])
                  for _, entry in all_methods() for api in entry["apis"]}
    for verb, path in served_routes():
        apipie = re.sub(r"\{([^}:]+)[^}]*\}", r":\1", path.replace("/api/v2/", "/api/", 1))
        assert (verb, apipie) in documented, f"{verb} {path} is not in the Apipie document"
    assert not any("/api/v2/" in url for _, url in documented)


def test_foreman_resource_and_action_names():
    for resource, actions in EXPECTED.items():
        assert resource in RESOURCES, resource
        assert actions <= {m["name"] for m in RESOURCES[resource]["methods"]}, resource
    assert "subscriptions" not in RESOURCES
    output = method("job_invocations", "output")["apis"][0]
    assert output["api_url"] == "/api/job_invocations/:job_invocation_id/hosts/:host_id"
    assert output["http_method"] == "GET"
    assert method("home", "status")["apis"][0]["api_url"] == "/api/status"
    assert method("foreman_tasks", "show")["apis"][0]["api_url"] == "/foreman_tasks/api/tasks/:id"


def test_path_params_are_required_strings():
    for _, entry in all_methods():
        for api in entry["apis"]:
            for name in re.findall(r":(\w+)", api["api_url"]):
                param = next(p for p in entry["params"] if p["name"] == name)
                assert param["expected_type"] == "string" and param["required"], api


def test_every_param_has_a_description_and_apypie_keys():
    for resource, entry in all_methods():
        assert entry["apis"] and entry["doc_url"] == f"/apidoc/v2/{resource}/{entry['name']}"
        for param in walk(entry["params"]):
            assert isinstance(param["description"], str) and param["description"].strip()
            assert {"name", "full_name", "expected_type", "required", "allow_nil",
                    "validator"} <= set(param)


def test_index_methods_declare_search_order_and_paging():
    for resource, entry in all_methods():
        if entry["name"] == "index":
            names = {p["name"] for p in entry["params"]}
            assert {"search", "order", "page", "per_page"} <= names, resource


@pytest.mark.parametrize(("resource", "key"), list(BODIES))
def test_create_and_update_declare_every_body_field_under_the_resource_key(resource, key):
    fields = {info.alias or name for name, info in BODIES[(resource, key)].model_fields.items()}
    for action in ("create", "update"):
        if action == "update" and resource == "job_invocations":
            continue
        wrapper = next(p for p in method(resource, action)["params"] if p["name"] == key)
        assert wrapper["expected_type"] == "hash"
        assert {p["name"] for p in wrapper["params"]} == fields
        assert all(p["full_name"] == f"{key}[{p['name']}]" for p in wrapper["params"])
        if action == "update":
            assert not any(p["required"] for p in walk(wrapper["params"]))


def test_nested_models_are_documented_as_hashes_and_arrays_with_their_params():
    host = next(p for p in method("hosts", "create")["params"] if p["name"] == "host")
    params = next(p for p in host["params"] if p["name"] == "host_parameters_attributes")
    assert params["expected_type"] == "array"
    assert {"name", "value"} <= {p["name"] for p in params["params"]}
    job = next(p for p in method("job_invocations", "create")["params"]
               if p["name"] == "job_invocation")
    types = {p["name"]: p["expected_type"] for p in job["params"]}
    assert (types["inputs"], types["ssh"], types["search_query"]) == ("hash", "hash", "string")
    assert types["concurrency_control"] == "hash" and types["host_ids"] == "array"


def test_checksum_is_the_digest_of_the_sorted_document_and_stable():
    apidoc = build_apidoc(APP)
    canonical = json.dumps(apidoc.document, sort_keys=True, separators=(",", ":")).encode()
    assert apidoc.checksum == hashlib.sha256(canonical).hexdigest()
    again = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    assert build_apidoc(again).checksum == apidoc.checksum


def test_a_new_route_changes_the_checksum():
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    before = build_apidoc(app).checksum

    @app.get("/api/widgets", summary="List widgets")
    async def widgets() -> dict:
        return {}

    after = build_apidoc(app)
    assert after.checksum != before
    assert method_names(after.document, "widgets") == {"index"}


def method_names(document: dict, resource: str) -> set[str]:
    """Return the action names of one resource of a document."""
    return {m["name"] for m in document["docs"]["resources"][resource]["methods"]}


async def test_document_is_served_with_any_locale_and_checksum_on_every_api_answer(live):
    client = live.client
    plain = await client.get("/apidoc/v2.json")
    assert plain.status_code == 200
    assert (await client.get("/apidoc/v2.json", params={"locale": "de"})).content == plain.content
    assert (await client.get("/apidoc/v2.en.json")).content == plain.content
    checksum = plain.headers["apipie-checksum"]
    assert checksum == hashlib.sha256(plain.content).hexdigest()
    assert plain.json()["docs"]["api_url"] == "/api"
    for path in ("/api/status", "/api/v2/hosts", "/api/no_such_thing", "/foreman_tasks/api/tasks"):
        assert (await client.get(path)).headers["apipie-checksum"] == checksum, path
    async with live.client_as("admin", "wrong") as stranger:
        assert (await stranger.get("/api/hosts")).headers["apipie-checksum"] == checksum
