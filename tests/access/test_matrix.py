"""The permission matrix: every route, every built-in role, one table.

Columns: a user with no role, Viewer, Remote Execution User, Remote Execution Manager, a
role that may only view hosts in `hostgroup = web`, and admin. A `{name}` in a path is an
object made before the request ("fresh_*" ones anew for each request, since the request
may consume them); `{self}` is the requesting user. Every route the app serves under
/api and /foreman_tasks/api must have a row.
"""

from __future__ import annotations

import itertools
import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from rex.models import Bookmark

COLUMNS = ("none", "viewer", "user", "manager", "web", "admin")
OK, NEW, NO, GONE = 200, 201, 403, 404
_n = itertools.count()


def host(_n: int) -> dict:
    return {"host": {"name": f"new{_n}.example.com", "hostgroup_name": "web"}}


def template(n: int) -> dict:
    return {"job_template": {"name": f"Template {n}", "template": "echo {{ input('x') }}",
                             "template_inputs_attributes": [{"name": "x"}]}}


DEFINITION = {"id": "x", "name": "x", "tasks": [{"id": "t", "command": "true"}]}
GATED = [{"id": "gate", "type": "approval"}, {"id": "after", "script": "true"}]
WEBHOOK = {"url": "http://127.0.0.1:9/h", "events": ["job.completed"], "secret": "secret-123"}


def plain_job(n: int) -> dict:
    return {"name": f"plain {n}", "script": "true", "targets": {"hosts": ["web1.example.com"]}}


def job(_n: int) -> dict:
    return {"job_invocation": {"feature": "run_script", "search_query": "name = web1.example.com",
                               "inputs": {"command": "true"}}}


MATRIX = [
    # method, path, body,                                       none  view  user  mgr   web   admin
    ("GET", "/api/status", None,                                OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", "/api/current_user", None,                          OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", "/api/ssh_keys/public", None,                       OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", "/api/hosts", None,                                 NO,   OK,   OK,   OK,   OK,   OK),
    ("GET", "/api/hosts/{web_host}", None,                      NO,   OK,   OK,   OK,   OK,   OK),
    ("GET", "/api/hosts/{db_host}", None,                       NO,   OK,   OK,   OK,   GONE, OK),
    ("GET", "/api/hosts/{db_host}/facts", None,                 NO,   OK,   OK,   OK,   GONE, OK),
    ("POST", "/api/hosts", host,                                NO,   NO,   NO,   NO,   NO,   NEW),
    ("PUT", "/api/hosts/{web_host}", {"comment": "x"},          NO,   NO,   NO,   NO,   NO,   OK),
    ("DELETE", "/api/hosts/{fresh_host}", None,                 NO,   NO,   NO,   NO,   NO,   OK),
    ("POST", "/api/hosts/facts", {"name": "f.example.com", "facts": {"a": "1"}},
                                                                NO,   NO,   NO,   NO,   NO,   NEW),
    ("DELETE", "/api/hosts/{web_host}/ssh_host_key", None,      NO,   NO,   NO,   NO,   NO,   OK),
    ("GET", "/api/job_templates", None,                         NO,   OK,   OK,   OK,   NO,   OK),
    ("GET", "/api/job_templates/{template}", None,              NO,   OK,   OK,   OK,   NO,   OK),
    ("POST", "/api/job_templates", template,                    NO,   NO,   NO,   NEW,  NO,   NEW),
    ("PUT", "/api/job_templates/{template}", {"description": "d"},
                                                                NO,   NO,   NO,   OK,   NO,   OK),
    ("DELETE", "/api/job_templates/{fresh_template}", None,     NO,   NO,   NO,   OK,   NO,   OK),
    ("POST", "/api/job_templates/{template}/clone", lambda n: {"name": f"Clone {n}"},
                                                                NO,   NO,   NO,   NEW,  NO,   NEW),
    ("GET", "/api/templates/{template}/template_inputs", None,  NO,   OK,   OK,   OK,   NO,   OK),
    ("GET", "/api/templates/{template}/template_inputs/{input}", None,
                                                                NO,   OK,   OK,   OK,   NO,   OK),
    ("POST", "/api/templates/{template}/template_inputs", lambda n: {"name": f"in{n}"},
                                                                NO,   NO,   NO,   NEW,  NO,   NEW),
    ("PUT", "/api/templates/{template}/template_inputs/{input}", {"description": "d"},
                                                                NO,   NO,   NO,   OK,   NO,   OK),
    ("DELETE", "/api/templates/{template}/template_inputs/{fresh_input}", None,
                                                                NO,   NO,   NO,   OK,   NO,   OK),
    ("GET", "/api/remote_execution_features", None,             NO,   OK,   OK,   OK,   NO,   OK),
    ("GET", "/api/remote_execution_features/{feature}", None,   NO,   OK,   OK,   OK,   NO,   OK),
    ("PUT", "/api/remote_execution_features/{feature}", {"job_template_id": "{run_template}"},
                                                                NO,   NO,   NO,   OK,   NO,   OK),
    ("GET", "/api/job_invocations", None,                       NO,   OK,   OK,   OK,   NO,   OK),
    ("POST", "/api/job_invocations", job,                       NO,   NO,   NEW,  NEW,  NO,   NEW),
    ("GET", "/api/job_invocations/{job}", None,                 NO,   OK,   OK,   OK,   NO,   OK),
    ("GET", "/api/job_invocations/{job}/hosts", None,           NO,   OK,   OK,   OK,   NO,   OK),
    ("GET", "/api/job_invocations/{job}/hosts/{web_host}", None,
                                                                NO,   OK,   OK,   OK,   NO,   OK),
    ("GET", "/api/job_invocations/{job}/hosts/{web_host}/raw", None,
                                                                NO,   OK,   OK,   OK,   NO,   OK),
    ("GET", "/api/job_invocations/{job}/outputs", None,         NO,   OK,   OK,   OK,   NO,   OK),
    ("POST", "/api/job_invocations/{job}/outputs", {},          NO,   OK,   OK,   OK,   NO,   OK),
    ("GET", "/api/job_invocations/{job}/template_invocations", None,
                                                                NO,   OK,   OK,   OK,   NO,   OK),
    ("POST", "/api/job_invocations/{job}/rerun", {},            NO,   NO,   NEW,  NEW,  NO,   NEW),
    ("POST", "/api/job_invocations/{fresh_job}/cancel", {},     NO,   NO,   NO,   OK,   NO,   OK),
    ("GET", "/api/jobs", None,                                  NO,   OK,   OK,   OK,   NO,   OK),
    ("GET", "/api/jobs/{plain_job}", None,                      NO,   OK,   OK,   OK,   NO,   OK),
    ("GET", "/api/jobs/{plain_job}/executions", None,           NO,   OK,   OK,   OK,   NO,   OK),
    ("POST", "/api/jobs", plain_job,                            NO,   NO,   NEW,  NEW,  NO,   NEW),
    ("POST", "/api/jobs/{fresh_plain_job}/cancel", {},          NO,   NO,   NO,   OK,   NO,   OK),
    ("DELETE", "/api/jobs/{fresh_plain_job}", None,             NO,   NO,   NO,   OK,   NO,   OK),
    ("GET", "/api/vault", None,                                 NO,   NO,   OK,   OK,   NO,   OK),
    ("POST", "/api/vault", lambda n: {"key": f"k/{n}", "value": "v"},
                                                                NO,   NO,   NO,   NEW,  NO,   NEW),
    ("GET", "/api/vault/{vault_entry}", None,                   NO,   NO,   OK,   OK,   NO,   OK),
    ("PUT", "/api/vault/{vault_entry}", {"description": "d"},   NO,   NO,   NO,   OK,   NO,   OK),
    ("DELETE", "/api/vault/{fresh_vault_entry}", None,          NO,   NO,   NO,   OK,   NO,   OK),
    ("GET", "/api/vault/entry?key=shared/key", None,            NO,   NO,   OK,   OK,   NO,   OK),
    ("PUT", "/api/vault/entry?key=shared/key", {"description": "d"},
                                                                NO,   NO,   NO,   OK,   NO,   OK),
    ("DELETE", "/api/vault/entry?key={fresh_vault_key}", None,  NO,   NO,   NO,   OK,   NO,   OK),
    ("GET", "/api/webhooks", None,                              NO,   NO,   NO,   NO,   NO,   OK),
    ("POST", "/api/webhooks", {"url": "http://127.0.0.1:9/h", "events": ["job.completed"],
                               "secret": "secret-123"},     NO,   NO,   NO,   NO,   NO,   NEW),
    ("GET", "/api/webhooks/{webhook}", None,                    NO,   NO,   NO,   NO,   NO,   OK),
    ("PUT", "/api/webhooks/{webhook}", {"enabled": False},      NO,   NO,   NO,   NO,   NO,   OK),
    ("DELETE", "/api/webhooks/{fresh_webhook}", None,           NO,   NO,   NO,   NO,   NO,   OK),
    ("GET", "/api/webhooks/{webhook}/deliveries", None,         NO,   NO,   NO,   NO,   NO,   OK),
    ("GET", "/api/playbooks", None,                             NO,   OK,   OK,   OK,   NO,   OK),
    ("POST", "/api/playbooks", lambda n: {"name": f"P {n}", "steps": GATED},
                                                                NO,   NO,   NO,   NEW,  NO,   NEW),
    ("GET", "/api/playbooks/{playbook}", None,                  NO,   OK,   OK,   OK,   NO,   OK),
    ("PUT", "/api/playbooks/{playbook}", {"description": "d"},  NO,   NO,   NO,   OK,   NO,   OK),
    ("DELETE", "/api/playbooks/{fresh_playbook}", None,         NO,   NO,   NO,   OK,   NO,   OK),
    ("POST", "/api/playbooks/{playbook}/run", {"targets": {"hosts": ["web1.example.com"]}},
                                                                NO,   NO,   NEW,  NEW,  NO,   NEW),
    ("GET", "/api/playbook_runs", None,                         NO,   OK,   OK,   OK,   NO,   OK),
    ("GET", "/api/playbook_runs/{playbook_run}", None,          NO,   OK,   OK,   OK,   NO,   OK),
    ("POST", "/api/playbook_runs/{fresh_playbook_run}/cancel", {},
                                                                NO,   NO,   NO,   OK,   NO,   OK),
    ("POST", "/api/playbook_runs/{fresh_playbook_run}/approve", {},
                                                                NO,   NO,   NO,   OK,   NO,   OK),
    ("POST", "/api/playbook_runs/{fresh_playbook_run}/reject", {},
                                                                NO,   NO,   NO,   OK,   NO,   OK),
    ("GET", "/api/job_definitions", None,                       NO,   OK,   OK,   OK,   NO,   OK),
    ("POST", "/api/job_definitions/validate?filename=x.json", DEFINITION,
                                                                NO,   OK,   OK,   OK,   NO,   OK),
    ("GET", "/api/job_definitions/{definition}", None,               NO,   GONE, GONE, GONE, NO,   GONE),
    ("POST", "/api/job_definitions/{definition}/run", {},            NO,   NO,   GONE, GONE, NO,   GONE),
    ("PUT", "/api/job_definitions/{definition}", {},                 NO,   405,  405,  405,  NO,   405),
    ("DELETE", "/api/job_definitions/{definition}", None,            NO,   405,  405,  405,  NO,   405),
    ("POST", "/api/job_definitions", {},                        NO,   405,  405,  405,  NO,   405),
    ("POST", "/api/events", {"name": "deployed"},               NO,   NO,   OK,   OK,   NO,   OK),
    ("GET", "/foreman_tasks/api/tasks", None,                   NO,   OK,   OK,   OK,   NO,   OK),
    ("GET", "/foreman_tasks/api/tasks/{task}", None,            NO,   OK,   OK,   OK,   NO,   OK),
    ("GET", "/foreman_tasks/api/recurring_logics", None,        NO,   OK,   OK,   OK,   NO,   OK),
    ("GET", "/foreman_tasks/api/recurring_logics/{logic}", None,
                                                                NO,   OK,   OK,   OK,   NO,   OK),
    ("PUT", "/foreman_tasks/api/recurring_logics/{logic}", {"enabled": True},
                                                                NO,   NO,   NO,   OK,   NO,   OK),
    ("POST", "/foreman_tasks/api/recurring_logics/{fresh_logic}/cancel", {},
                                                                NO,   NO,   NO,   OK,   NO,   OK),
    ("GET", "/api/bookmarks", None,                             NO,   OK,   OK,   OK,   NO,   OK),
    ("GET", "/api/bookmarks/{bookmark}", None,                  NO,   OK,   OK,   OK,   NO,   OK),
    ("POST", "/api/bookmarks", lambda n: {"name": f"b{n}", "query": "name ~ a*",
                                          "controller": "hosts"},
                                                                NO,   NO,   NEW,  NEW,  NO,   NEW),
    ("PUT", "/api/bookmarks/{own_bookmark}", {"query": "name ~ b*"},
                                                                NO,   NO,   OK,   OK,   NO,   OK),
    ("DELETE", "/api/bookmarks/{own_bookmark}", None,           NO,   NO,   OK,   OK,   NO,   OK),
    ("GET", "/api/users", None,                                 NO,   NO,   NO,   NO,   NO,   OK),
    ("GET", "/api/users/{other_user}", None,                    NO,   NO,   NO,   NO,   NO,   OK),
    ("GET", "/api/users/{self}", None,                          OK,   OK,   OK,   OK,   OK,   OK),
    ("POST", "/api/users", lambda n: {"login": f"made{n}", "password": "made-pw-1"},
                                                                NO,   NO,   NO,   NO,   NO,   NEW),
    ("PUT", "/api/users/{self}", {"firstname": "Me"},           OK,   OK,   OK,   OK,   OK,   OK),
    ("PUT", "/api/users/{other_user}", {"firstname": "Them"},   NO,   NO,   NO,   NO,   NO,   OK),
    ("DELETE", "/api/users/{fresh_user}", None,                 NO,   NO,   NO,   NO,   NO,   OK),
    ("GET", "/api/users/{self}/personal_access_tokens", None,   OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", "/api/users/{self}/personal_access_tokens/{own_token}", None,
                                                                OK,   OK,   OK,   OK,   OK,   OK),
    ("POST", "/api/users/{self}/personal_access_tokens", {"name": "ci"},
                                                                NEW,  NEW,  NEW,  NEW,  NEW,  NEW),
    ("DELETE", "/api/users/{self}/personal_access_tokens/{own_token}", None,
                                                                OK,   OK,   OK,   OK,   OK,   OK),
    ("GET", "/api/users/{other_user}/personal_access_tokens", None,
                                                                NO,   NO,   NO,   NO,   NO,   OK),
    ("GET", "/api/roles", None,                                 NO,   NO,   NO,   NO,   NO,   OK),
    ("GET", "/api/roles/{role}", None,                          NO,   NO,   NO,   NO,   NO,   OK),
    ("POST", "/api/roles", lambda n: {"name": f"Role {n}"},     NO,   NO,   NO,   NO,   NO,   NEW),
    ("PUT", "/api/roles/{role}", {"description": "d"},          NO,   NO,   NO,   NO,   NO,   OK),
    ("DELETE", "/api/roles/{fresh_role}", None,                 NO,   NO,   NO,   NO,   NO,   OK),
    ("POST", "/api/roles/{role}/clone", lambda n: {"name": f"Copy {n}"},
                                                                NO,   NO,   NO,   NO,   NO,   NEW),
    ("GET", "/api/filters", None,                               NO,   NO,   NO,   NO,   NO,   OK),
    ("GET", "/api/filters/{filter}", None,                      NO,   NO,   NO,   NO,   NO,   OK),
    ("POST", "/api/filters", {"role_id": "{role}", "permission_ids": ["view_hosts"]},
                                                                NO,   NO,   NO,   NO,   NO,   NEW),
    ("PUT", "/api/filters/{filter}", {"search": "name ~ web*"}, NO,   NO,   NO,   NO,   NO,   OK),
    ("DELETE", "/api/filters/{fresh_filter}", None,             NO,   NO,   NO,   NO,   NO,   OK),
    ("GET", "/api/permissions", None,                           NO,   NO,   NO,   NO,   NO,   OK),
    ("GET", "/api/permissions/resource_types", None,            NO,   NO,   NO,   NO,   NO,   OK),
    ("GET", "/api/permissions/{permission}", None,              NO,   NO,   NO,   NO,   NO,   OK),
    ("GET", "/api/audits", None,                                NO,   OK,   NO,   OK,   NO,   OK),
    ("GET", "/api/audits/{audit}", None,                        NO,   OK,   NO,   OK,   NO,   OK),
]  # fmt: skip
PUBLIC = {("GET", "/apidoc/v2.json"), ("GET", "/apidoc/v2.{locale}.json")}
# A template's api_key guards these, whoever calls (tests/jobs/test_triggers.py).
PUBLIC |= {(method, f"/api/jobs/{name}") for method in ("GET", "POST")
           for name in ("trigger", "status", "logs")}


class World:
    """The objects the table's paths name, made by admin; fresh ones made per request."""

    def __init__(self, live, cast) -> None:
        self.live, self.api, self.cast = live, live.client, cast
        self.ids: dict[str, int | str] = {}

    async def post(self, path: str, body: dict) -> dict:
        response = await self.api.post(path, json=body)
        assert response.status_code == 201, (path, response.text)
        return response.json()

    async def build(self) -> None:
        """Make the shared objects."""
        ids = self.ids
        for name, group in (("web1", "web"), ("db1", "db")):
            made = await self.post("/api/hosts", {"host": {"name": f"{name}.example.com",
                                                           "hostgroup_name": group}})
            ids[f"{group}_host"] = made["id"]
        made = await self.post("/api/job_templates", template(next(_n)))
        ids["template"], ids["input"] = made["id"], made["template_inputs"][0]["id"]
        feature = (await self.api.get("/api/remote_execution_features")).json()["results"][0]
        ids["feature"], ids["run_template"] = feature["id"], feature["job_template_id"]
        made = await self.post("/api/job_invocations", job(0))
        ids["job"], ids["task"] = made["id"], made["dynflow_task"]["id"]
        ids["logic"] = await self.logic()
        ids["plain_job"] = (await self.post("/api/jobs", plain_job(0)))["id"]
        ids["vault_entry"] = (await self.post("/api/vault", {"key": "shared/key",
                                                             "value": "v"}))["id"]
        ids["webhook"] = (await self.post("/api/webhooks", WEBHOOK))["id"]
        ids["definition"] = "nightly"  # no REX_JOBS_DIR here: 404 for whoever may look
        ids["playbook"] = (await self.post("/api/playbooks", {"name": "Gated", "steps": GATED}))["id"]
        ids["playbook_run"] = await self.playbook_run()
        ids["bookmark"] = (await self.post("/api/bookmarks", {
            "name": "shared", "query": "name ~ web*", "controller": "hosts", "public": True}))["id"]
        ids["other_user"] = (await self.post("/api/users", {"login": "other",
                                                            "password": "other-pw-1"}))["id"]
        ids["role"] = (await self.post("/api/roles", {"name": "Custom"}))["id"]
        ids["filter"] = await self.filter()
        ids["permission"] = "view_hosts"
        ids["audit"] = (await self.api.get("/api/audits")).json()["results"][0]["id"]

    async def logic(self) -> int:
        body = job(0)
        body["job_invocation"]["recurrence"] = {"cron_line": "0 3 * * *"}
        made = await self.post("/api/job_invocations", body)
        return made["recurrence"]["id"]

    async def playbook_run(self) -> int:
        """A run of the gated playbook started by admin: waiting at its gate."""
        return (await self.post(f"/api/playbooks/{self.ids['playbook']}/run",
                                {"targets": {"hosts": ["web1.example.com"]}}))["id"]

    async def filter(self) -> int:
        return (await self.post("/api/filters", {"role_id": self.ids["role"],
                                                 "permission_ids": ["view_hosts"]}))["id"]

    async def fresh(self, name: str, column: str) -> int | str:
        """Make a new object of kind `name` for one request of `column`'s user."""
        n, uid = next(_n), self.cast.ids[column]
        makers = {
            "fresh_host": lambda: self.post("/api/hosts", host(n)),
            "fresh_template": lambda: self.post("/api/job_templates", template(n)),
            "fresh_input": lambda: self.post(f"/api/templates/{self.ids['template']}"
                                             "/template_inputs", {"name": f"in{n}"}),
            "fresh_job": lambda: self.post("/api/job_invocations", job(n)),
            "fresh_user": lambda: self.post("/api/users", {"login": f"gone{n}",
                                                           "password": "gone-pw-1"}),
            "fresh_role": lambda: self.post("/api/roles", {"name": f"Gone {n}"}),
            "fresh_webhook": lambda: self.post("/api/webhooks", WEBHOOK),
            "fresh_playbook": lambda: self.post("/api/playbooks", {"name": f"Gone P {n}",
                                                                   "steps": GATED}),
            "fresh_vault_entry": lambda: self.post("/api/vault", {"key": f"x/{n}", "value": "v"}),
            "own_token": lambda: self.post(f"/api/users/{uid}/personal_access_tokens",
                                           {"name": f"t{n}"}),
        }
        if name == "fresh_logic":
            return await self.logic()
        if name == "fresh_playbook_run":
            return await self.playbook_run()
        if name == "fresh_vault_key":
            return (await self.post("/api/vault", {"key": f"gone/{n}", "value": "v"}))["key"]
        if name == "fresh_plain_job":  # stopped, so that it may be deleted
            made = await self.post("/api/jobs", plain_job(n))
            await self.api.post(f"/api/jobs/{made['id']}/cancel", json={})
            return made["id"]
        if name == "fresh_filter":
            return await self.filter()
        if name == "own_bookmark":
            return await self.bookmark(n, uid)
        return (await makers[name]())["id"]

    async def bookmark(self, n: int, owner_id: int) -> int:
        async with self.live.runtime.db.unit_of_work() as session:
            made = Bookmark(name=f"own{n}", query="name ~ x*", controller="hosts",
                            owner_id=owner_id)
            session.add(made)
            await session.flush()
            return made.id

    async def fill(self, text: str, column: str) -> str:
        """Replace the `{name}`s in `text` for a request of `column`'s user."""
        names = re.findall(r"\{(\w+)\}", text)
        for name in names:
            if name == "self":
                value = self.cast.ids[column]
            elif name.startswith(("fresh_", "own_")):
                value = await self.fresh(name, column)
            else:
                value = self.ids[name]
            text = text.replace("{" + name + "}", str(value), 1)
        return text


async def _body(world: World, body, column: str):
    if body is None:
        return None
    value = body(next(_n)) if callable(body) else body
    filled = {}
    for key, item in value.items():
        is_ref = isinstance(item, str) and item.startswith("{")
        filled[key] = int(await world.fill(item, column)) if is_ref else item
    return filled


async def test_every_route_answers_each_role_as_the_table_says(live, cast):
    world = World(live, cast)
    await world.build()
    wrong = []
    for method, path, body, *expected in MATRIX:
        for column, want in zip(COLUMNS, expected, strict=True):
            url = await world.fill(path, column)
            payload = await _body(world, body, column)
            response = await cast.clients[column].request(method, url, json=payload)
            if response.status_code != want:
                wrong.append((method, path, column, want, response.status_code,
                              response.text[:160]))
            elif want == NO:
                error = response.json()["error"]
                assert error["message"] == "Access denied", error
                assert error["details"].startswith("Missing one of the required permissions: ")
                assert len(error["missing_permissions"]) == 1
    assert wrong == []


def _shape(path: str) -> str:
    return re.sub(r"\{\w+\}", "{}", path)


async def test_the_table_covers_every_route(live):
    served = {
        (method, _shape(context.path))
        for context in iter_route_contexts(live.app.routes)
        if isinstance(context.original_route, APIRoute)
        and not context.path.startswith("/api/v2/")
        for method in context.methods or ()
    }
    listed = {(method, _shape(path.split("?")[0])) for method, path, *_ in MATRIX}
    public = {(method, _shape(path)) for method, path in PUBLIC}
    assert served - listed - public == set()
    assert listed - served == set()


@pytest.mark.parametrize("column", ["none", "viewer", "web"])
async def test_a_403_says_which_permission_is_missing(live, cast, column):
    response = await cast.clients[column].post("/api/job_invocations", json=job(0))
    assert response.status_code == 403
    assert response.json() == {"error": {
        "message": "Access denied",
        "details": "Missing one of the required permissions: create_job_invocations",
        "missing_permissions": ["create_job_invocations"]}}
