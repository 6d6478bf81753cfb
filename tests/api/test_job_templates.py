"""/api/job_templates, template inputs and features: Foreman's shapes, rules and every bad input.

One live rex per database serves the whole module (starting one per test costs more than all
the requests); each test starts from the seeded state again.
"""

import pytest
from sqlalchemy import delete

from rex.models import JobTemplate, RemoteExecutionFeature
from rex.seeds import seed
from tests import apikit
from tests.dbkit import postgres_url, sqlite_url

RUN_COMMAND = "Run Command - Script Default"
LOCKED = "This template is locked. Please clone it to a new template to customize."
OPT_STR = (str, type(None))
# FOREMAN-API.md section 4: index rows, then what show adds; inputs, effective user, features.
ROW_KEYS = {"id": int, "name": str, "job_category": str, "provider_type": str, "snippet": bool,
            "description_format": OPT_STR, "created_at": str, "updated_at": str}
SHOW_KEYS = {**ROW_KEYS, "description": OPT_STR, "template": str, "locked": bool,
             "execution_timeout_interval": (int, type(None)), "cloned_from_id": type(None),
             "template_inputs": list, "effective_user": dict, "locations": list,
             "organizations": list}
INPUT_KEYS = {"id": int, "name": str, "input_type": str, "template_id": int, "fact_name": OPT_STR,
              "variable_name": OPT_STR, "description": OPT_STR, "required": bool,
              "default": OPT_STR, "hidden_value": bool, "options": (list, type(None))}
EFFECTIVE_KEYS = {"value": OPT_STR, "current_user": bool, "overridable": bool}
FEATURE_KEYS = {"id": int, "label": str, "name": str, "description": OPT_STR,
                "job_template_id": (int, type(None)), "job_template_name": OPT_STR,
                "host_action_button": bool}
ENVELOPE_KEYS = {"total", "subtotal", "page", "per_page", "search", "sort", "results"}


def assert_shape(body: dict, keys: dict) -> None:
    for key, kind in keys.items():
        assert key in body, key
        assert isinstance(body[key], kind), (key, body[key])


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def server(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("templates")
    url = postgres_url() if request.param == "postgres" else sqlite_url(folder)
    live = await apikit.start_server(apikit.test_settings(folder, url))
    yield live
    await live.stop()


@pytest.fixture
async def api(server):
    """The module's admin client; the templates and features are re-seeded afterwards."""
    yield server.client
    async with server.runtime.db.unit_of_work() as session:
        await session.execute(delete(RemoteExecutionFeature))
        await session.execute(delete(JobTemplate))
        await seed(session)


def restart(**fields) -> dict:
    return {"job_template": {"name": "Restart", "template": "systemctl restart {{ input('unit') }}",
                             "job_category": "Services", "provider_type": "SSH", **fields}}


async def make(api, **fields) -> dict:
    response = await api.post("/api/job_templates", json=restart(**fields))
    assert response.status_code == 201, response.text
    return response.json()


async def everything(api) -> list:
    """Every template with its inputs, to show that a refused request wrote nothing."""
    rows = (await api.get("/api/job_templates", params={"per_page": "all"})).json()["results"]
    return [(await api.get(f"/api/job_templates/{row['id']}")).json() for row in rows]


async def test_seeded_template_is_found_by_name_in_foreman_shapes(api):
    found = await api.get("/api/job_templates", params={"search": f'name="{RUN_COMMAND}"'})
    assert found.status_code == 200
    index = found.json()
    assert set(index) == ENVELOPE_KEYS and index["subtotal"] == 1
    assert index["search"] == f'name="{RUN_COMMAND}"'
    assert_shape(index["results"][0], ROW_KEYS)
    assert set(index["results"][0]) == set(ROW_KEYS)
    shown = (await api.get(f"/api/job_templates/{index['results'][0]['id']}")).json()
    assert_shape(shown, SHOW_KEYS)
    assert_shape(shown["effective_user"], EFFECTIVE_KEYS)
    assert_shape(shown["template_inputs"][0], INPUT_KEYS)
    assert (shown["template"], shown["provider_type"], shown["job_category"]) == (
        '{{ input("command") }}', "script", "Commands")
    assert (shown["description_format"], shown["locked"]) == ("Run %{command}", False)
    assert [(i["name"], i["input_type"], i["required"]) for i in shown["template_inputs"]] == [
        ("command", "user", True)]
    by_name = await api.get(f"/api/job_templates/{RUN_COMMAND}")
    assert by_name.json()["id"] == shown["id"]
    features = (await api.get("/api/remote_execution_features")).json()
    assert set(features) == ENVELOPE_KEYS
    assert_shape(features["results"][0], FEATURE_KEYS)
    assert [(f["label"], f["name"], f["job_template_id"], f["job_template_name"])
            for f in features["results"]] == [("run_script", "Run Script", shown["id"], RUN_COMMAND)]


async def test_seeding_again_adds_nothing(api, server):
    async with server.runtime.db.unit_of_work() as session:
        await seed(session)
    assert (await api.get("/api/job_templates")).json()["total"] == 1
    assert (await api.get("/api/remote_execution_features")).json()["total"] == 1


async def test_create_as_ansible_sends_it_and_read_it_back_unchanged(api):
    body = restart(
        description="Restart a unit", description_format="Restart %{unit}", snippet=False,
        locked=False, execution_timeout_interval=300, audit_comment="first",
        effective_user_attributes={"value": "deploy", "overridable": False, "current_user": False},
        template_inputs_attributes=[
            {"name": "unit", "input_type": "user", "required": True, "options": ["nginx", "sshd"],
             "default": "nginx", "advanced": False, "description": "Unit to restart"},
            {"name": "os", "input_type": "fact", "fact_name": "os::family"},
            {"name": "port", "input_type": "variable", "variable_name": "app_port",
             "hidden_value": True},
        ],
    )
    created = await api.post("/api/job_templates", json=body)
    assert created.status_code == 201, created.text
    template = created.json()
    assert_shape(template, SHOW_KEYS)
    sent = body["job_template"]
    for key in ("name", "template", "job_category", "provider_type", "description",
                "description_format", "execution_timeout_interval", "locked", "snippet"):
        assert template[key] == sent[key], key
    assert template["effective_user"] == {"value": "deploy", "current_user": False,
                                          "overridable": False}
    unit, os_fact, port = template["template_inputs"]
    assert (unit["options"], unit["default"], unit["required"]) == (["nginx", "sshd"], "nginx", True)
    assert (os_fact["input_type"], os_fact["fact_name"], os_fact["options"]) == ("fact", "os::family", None)
    assert (port["variable_name"], port["hidden_value"]) == ("app_port", True)
    again = await api.put(f"/api/job_templates/{template['id']}", json=body)
    assert again.status_code == 200
    assert again.json() == template, "sending the same body again must change nothing"
    assert (await api.get(f"/api/job_templates/{template['id']}-restart")).json() == template


async def test_update_delete_and_a_bare_body(api):
    template = await make(api)
    path = f"/api/job_templates/{template['id']}"
    updated = await api.put(path, json={"description": "bare body", "provider_type": "script"})
    assert updated.status_code == 200
    assert (updated.json()["description"], updated.json()["provider_type"]) == ("bare body", "script")
    assert updated.json()["template"] == template["template"]
    deleted = await api.delete("/api/job_templates/Restart")
    assert deleted.status_code == 200 and deleted.json()["id"] == template["id"]
    gone = await api.get(path)
    assert gone.status_code == 404
    assert gone.json() == {"error": {"message": f"Resource job_template not found by id '{template['id']}'"}}


async def test_id_name_form_and_names_that_start_with_digits(api):
    seeded = (await api.get(f"/api/job_templates/{RUN_COMMAND}")).json()
    named = await make(api, name=f"{seeded['id']}-nightly")
    assert (await api.get(f"/api/job_templates/{seeded['id']}-nightly")).json()["id"] == named["id"]
    assert (await api.get(f"/api/job_templates/{seeded['id']}-run-command")).json()["id"] == seeded["id"]
    assert (await api.get(f"/api/job_templates/{seeded['id']}")).json()["id"] == seeded["id"]


@pytest.mark.parametrize(
    "fields, field, words",
    [
        ({"name": RUN_COMMAND}, "name", "Name has already been taken"),
        ({"name": "  "}, "name", "Name can't be blank"),
        ({"template": ""}, "template", "Template can't be blank"),
        ({"template": 'echo <%= input("command") %>'}, "template",
         'write {{ input("command") }} instead of <%= input("command") %>'),
        ({"template": "echo\n{% if x %}no end"}, "template", "Jinja2 syntax error on line 2"),
        ({"provider_type": "Ansible"}, "provider_type", "(SSH, script): 'Ansible'"),
        ({"job_category": ""}, "job_category", "Job category can't be blank"),
        ({"execution_timeout_interval": 0}, "execution_timeout_interval", "greater than 0"),
        ({"execution_timeout_interval": "soon"}, "job_template.execution_timeout_interval", ""),
        ({"name": "x" * 256}, "job_template.name", "255"),
        ({"template_inputs_attributes": [{"name": "x", "input_type": "magic"}]},
         "template_inputs.input_type", "(user, fact, variable): 'magic'"),
        ({"template_inputs_attributes": [{"name": "x", "input_type": "fact"}]},
         "template_inputs.fact_name", "Template inputs fact name can't be blank"),
        ({"template_inputs_attributes": [{"name": "x", "input_type": "variable"}]},
         "template_inputs.variable_name", "can't be blank"),
        ({"template_inputs_attributes": [{"name": "x", "options": "a\nb", "default": "c"}]},
         "template_inputs.default", "is not included in the list (a, b)"),
        ({"template_inputs_attributes": [{"name": "x"}, {"name": "x"}]},
         "template_inputs.name", "has already been taken"),
        ({"template_inputs_attributes": [{"input_type": "user"}]},
         "template_inputs.name", "can't be blank"),
        ({"template_inputs_attributes": [{"id": 99999, "name": "x"}]},
         "template_inputs.id", "99999"),
        ({"template_inputs_attributes": "unit"}, "job_template.template_inputs_attributes", ""),
    ],
)
async def test_bad_templates_are_422_naming_the_field_and_nothing_is_written(api, fields, field, words):
    before = await everything(api)
    response = await api.post("/api/job_templates", json=restart(**fields))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "errors", "full_messages"}
    assert field in error["errors"], error
    assert words in error["message"]
    assert await everything(api) == before


async def test_every_broken_rule_is_reported_at_once(api):
    response = await api.post("/api/job_templates", json=restart(
        name="", template="<% x %>", template_inputs_attributes=[{"name": "a", "input_type": "fact"}]))
    assert set(response.json()["error"]["errors"]) == {"name", "template", "template_inputs.fact_name"}
    assert len(response.json()["error"]["full_messages"]) == 3


async def test_refused_update_changes_nothing(api):
    template = await make(api, template_inputs_attributes=[{"name": "unit"}])
    before = await everything(api)
    path = f"/api/job_templates/{template['id']}"
    bad = {"name": "Renamed", "description": "new",
           "template_inputs_attributes": [{"id": template["template_inputs"][0]["id"], "name": "u2"},
                                          {"name": "extra", "input_type": "fact"}]}
    response = await api.put(path, json={"job_template": bad})
    assert response.status_code == 422
    assert list(response.json()["error"]["errors"]) == ["template_inputs.fact_name"]
    assert await everything(api) == before


async def test_template_inputs_attributes_update_by_id_or_name_and_destroy(api):
    template = await make(api, template_inputs_attributes=[{"name": "unit"}, {"name": "old"}])
    unit = template["template_inputs"][0]
    path = f"/api/job_templates/{template['id']}"
    changed = (await api.put(path, json={"job_template": {"template_inputs_attributes": {
        "0": {"id": unit["id"], "required": True},
        "1": {"name": "old", "_destroy": "1"},
        "2": {"name": "new", "input_type": "variable", "variable_name": "p"},
    }}})).json()
    assert [(i["id"] == unit["id"], i["name"], i["required"]) for i in changed["template_inputs"]] == [
        (True, "unit", True), (False, "new", False)]
    new_id = changed["template_inputs"][1]["id"]
    renamed = await api.put(path, json={"job_template": {"template_inputs_attributes": [
        {"id": new_id, "_destroy": True}, {"id": unit["id"], "name": "new"}]}})
    assert renamed.status_code == 200, renamed.text
    assert [(i["id"], i["name"]) for i in renamed.json()["template_inputs"]] == [(unit["id"], "new")]


async def test_a_template_may_be_saved_before_its_inputs(api):
    template = await make(api, template="echo {{ input('later') }}")
    assert template["template_inputs"] == []
    path = f"/api/templates/{template['id']}/template_inputs"
    created = await api.post(path, json={"template_input": {"name": "later", "input_type": "user"}})
    assert created.status_code == 201
    assert [i["name"] for i in (await api.get(f"/api/job_templates/{template['id']}")).json()[
        "template_inputs"]] == ["later"]


async def test_locked_template_takes_nothing_but_unlocking(api):
    template = await make(api, locked=True, template_inputs_attributes=[{"name": "unit"}])
    path = f"/api/job_templates/{template['id']}"
    inputs = f"/api/templates/{template['id']}/template_inputs"
    before = await everything(api)
    refusals = [
        await api.put(path, json={"job_template": {"template": "echo changed"}}),
        await api.put(path, json={"job_template": {"locked": False, "description": "sneaky"}}),
        await api.put(path, json={"job_template": {"template_inputs_attributes": [{"name": "new"}]}}),
        await api.post(inputs, json={"template_input": {"name": "new"}}),
        await api.put(f"{inputs}/unit", json={"template_input": {"required": True}}),
    ]
    for response in refusals:
        assert response.status_code == 422, response.text
        assert response.json()["error"]["message"] == LOCKED
        assert response.json()["error"]["full_messages"] == [LOCKED]
    gone = await api.delete(path)
    assert (gone.status_code, gone.json()["error"]["message"]) == (
        422, "This template is locked and may not be removed.")
    assert (await api.delete(f"{inputs}/unit")).status_code == 422
    assert await everything(api) == before
    same = await api.put(path, json=restart(locked=True))
    assert same.status_code == 200, "resending what is stored is not a change"
    unlocked = await api.put(path, json={"job_template": {"locked": False}})
    assert unlocked.status_code == 200 and unlocked.json()["locked"] is False
    changed = await api.put(path, json={"job_template": {"template": "echo ok", "locked": True}})
    assert (changed.json()["template"], changed.json()["locked"]) == ("echo ok", True)


async def test_clone_copies_inputs_and_effective_user_unlocked(api):
    template = await make(api, locked=True, effective_user_attributes={"value": "app"},
                          template_inputs_attributes=[{"name": "unit", "options": "a\nb"}])
    path = f"/api/job_templates/{template['id']}/clone"
    copy = await api.post(path, json={"job_template": {"name": "Restart (mine)"}})
    assert copy.status_code == 201, copy.text
    body = copy.json()
    assert (body["name"], body["locked"], body["template"]) == (
        "Restart (mine)", False, template["template"])
    assert body["effective_user"] == template["effective_user"]
    assert [(i["name"], i["options"]) for i in body["template_inputs"]] == [("unit", ["a", "b"])]
    assert body["template_inputs"][0]["id"] != template["template_inputs"][0]["id"]
    for name, words in ((RUN_COMMAND, "has already been taken"), ("", "can't be blank")):
        before = await everything(api)
        refused = await api.post(path, json={"job_template": {"name": name}})
        assert refused.status_code == 422 and words in refused.json()["error"]["errors"]["name"]
        assert await everything(api) == before


async def test_template_inputs_resource(api):
    template = await make(api)
    path = f"/api/templates/{template['id']}/template_inputs"
    created = await api.post(path, json={"template_input": {
        "name": "unit", "input_type": "user", "options": "nginx\nsshd", "default": "sshd"}})
    assert created.status_code == 201, created.text
    assert_shape(created.json(), INPUT_KEYS)
    await api.post(path, json={"name": "os", "input_type": "fact", "fact_name": "os::family"})
    listed = (await api.get(path, params={"search": "input_type = fact"})).json()
    assert set(listed) == ENVELOPE_KEYS
    assert (listed["total"], [i["name"] for i in listed["results"]]) == (2, ["os"])
    assert (await api.get(f"{path}/unit")).json()["id"] == created.json()["id"]
    for bad, field in (({"name": "unit"}, "name"), ({"name": "v", "input_type": "variable"}, "variable_name"),
                       ({"name": "d", "options": ["a"], "default": "b"}, "default"),
                       ({"name": "t", "input_type": "puppet_parameter"}, "input_type")):
        refused = await api.post(path, json={"template_input": bad})
        assert refused.status_code == 422 and field in refused.json()["error"]["errors"], refused.text
    changed = await api.put(f"{path}/{created.json()['id']}", json={"template_input": {"required": True}})
    assert (changed.status_code, changed.json()["required"], changed.json()["default"]) == (200, True, "sshd")
    assert (await api.put(f"{path}/unit", json={"template_input": {"name": "os"}})).status_code == 422
    assert (await api.delete(f"{path}/unit")).json()["name"] == "unit"
    assert (await api.get(path)).json()["total"] == 1


async def test_unknown_ids_are_404_in_foreman_words(api):
    template = await make(api)
    inputs = f"/api/templates/{template['id']}/template_inputs"
    cases = [
        ("GET", "/api/job_templates/9999", "Resource job_template not found by id '9999'"),
        ("PUT", "/api/job_templates/nope", "Resource job_template not found by id 'nope'"),
        ("DELETE", "/api/job_templates/9999", "Resource job_template not found by id '9999'"),
        ("POST", "/api/job_templates/9999/clone", "Resource job_template not found by id '9999'"),
        ("GET", "/api/templates/9999/template_inputs", "Resource job_template not found by id '9999'"),
        ("GET", f"{inputs}/9999", "Resource template_input not found by id '9999'"),
        ("PUT", f"{inputs}/nope", "Resource template_input not found by id 'nope'"),
        ("DELETE", f"{inputs}/9999", "Resource template_input not found by id '9999'"),
        ("GET", "/api/remote_execution_features/9999",
         "Resource remote_execution_feature not found by id '9999'"),
        ("PUT", "/api/remote_execution_features/nope",
         "Resource remote_execution_feature not found by id 'nope'"),
        ("GET", "/api/job_templates/99999999999999999999",
         "Resource job_template not found by id '99999999999999999999'"),
    ]
    for method, path, message in cases:
        kwargs = {"json": {"job_template": {"name": "x"}}} if method in ("PUT", "POST") else {}
        response = await api.request(method, path, **kwargs)
        assert (response.status_code, response.json()) == (404, {"error": {"message": message}}), path


@pytest.mark.parametrize(
    "query, names",
    [
        ("job_category = Services", ["Restart"]),
        ("name ~ rest", ["Restart"]),
        ("locked = true", ["Restart"]),
        ("locked = false", [RUN_COMMAND, "Stop"]),
        ("provider_type = script", [RUN_COMMAND, "Stop"]),
        ("Run", [RUN_COMMAND]),
        ('name = "Stop" or name = Restart', ["Restart", "Stop"]),
    ],
)
async def test_index_search(api, query, names):
    await make(api, locked=True)
    await make(api, name="Stop", provider_type="script", job_category="Maintenance")
    found = (await api.get("/api/job_templates", params={"search": query})).json()
    assert [row["name"] for row in found["results"]] == names
    assert (found["total"], found["subtotal"]) == (3, len(names))


@pytest.mark.parametrize(
    "params, words",
    [({"search": "colour = red"}, "colour"), ({"search": "locked = maybe"}, "true or false"),
     ({"search": "locked ~ t"}, "not supported"), ({"order": "template DESC"}, "order field")],
)
async def test_bad_search_or_order_is_400(api, params, words):
    response = await api.get("/api/job_templates", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["class"] == "ScopedSearch::QueryNotSupported"
    assert words in response.json()["error"]["message"]


async def test_order_and_paging(api):
    for name in ("A", "B", "C"):
        await make(api, name=name)
    page = (await api.get("/api/job_templates", params={"order": "name DESC", "per_page": 2, "page": 2})).json()
    assert (page["sort"], page["per_page"], [r["name"] for r in page["results"]]) == (
        {"by": "name", "order": "DESC"}, 2, ["B", "A"])


async def test_ties_of_the_chosen_order_fall_back_to_the_name(api):
    for name in ("Zed", "Alpha"):  # Zed made first: ties by id would list it first
        await make(api, name=name, job_category="Ties")
    page = (await api.get("/api/job_templates", params={
        "order": "job_category", "search": "job_category = Ties"})).json()
    assert [r["name"] for r in page["results"]] == ["Alpha", "Zed"]


async def test_feature_is_remapped_and_a_bad_template_is_refused(api):
    template = await make(api)
    path = "/api/remote_execution_features/run_script"
    moved = await api.put(path, json={"remote_execution_feature": {"job_template_id": template["id"]}})
    assert moved.status_code == 200
    assert (moved.json()["job_template_id"], moved.json()["job_template_name"]) == (template["id"], "Restart")
    feature_id = moved.json()["id"]
    refused = await api.put(path, json={"remote_execution_feature": {"job_template_id": 9999}})
    assert refused.status_code == 422 and "job_template_id" in refused.json()["error"]["errors"]
    assert (await api.get(f"/api/remote_execution_features/{feature_id}")).json() == moved.json()
    await api.delete("/api/job_templates/Restart")
    orphan = (await api.get(path)).json()
    assert (orphan["job_template_id"], orphan["job_template_name"]) == (None, None)
