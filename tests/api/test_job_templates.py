"""/api/job_templates, template inputs and features: Foreman shapes and every bad input."""

import pytest

RUN_COMMAND = "Run Command - Script Default"
ROW_KEYS = {"id": int, "name": str, "job_category": str, "provider_type": str, "snippet": bool,
            "description_format": (str, type(None)), "created_at": str, "updated_at": str}
SHOW_KEYS = {**ROW_KEYS, "description": (str, type(None)), "template": str, "locked": bool,
             "cloned_from_id": type(None), "template_inputs": list, "effective_user": dict,
             "locations": list, "organizations": list}


def body(**fields):
    return {"job_template": {"name": "Restart", "template": "systemctl restart {{ input('unit') }}",
                             "job_category": "Services", "provider_type": "SSH", **fields}}


async def count(api) -> int:
    return (await api.get("/api/job_templates")).json()["total"]


async def test_seeded_template_is_found_by_name_with_its_input(api):
    found = (await api.get("/api/job_templates", params={"search": f'name = "{RUN_COMMAND}"'})).json()
    assert found["subtotal"] == 1
    row = found["results"][0]
    for key, kind in ROW_KEYS.items():
        assert isinstance(row[key], kind), key
    shown = (await api.get(f"/api/job_templates/{row['id']}")).json()
    for key, kind in SHOW_KEYS.items():
        assert isinstance(shown[key], kind), key
    assert (shown["provider_type"], shown["job_category"], shown["description_format"]) == (
        "script", "Commands", "Run %{command}")
    assert [(i["name"], i["input_type"], i["required"]) for i in shown["template_inputs"]] == [
        ("command", "user", True)]
    features = (await api.get("/api/remote_execution_features")).json()["results"]
    assert [(f["label"], f["job_template_name"]) for f in features] == [("run_script", RUN_COMMAND)]


async def test_create_update_clone_delete(api):
    created = await api.post("/api/job_templates", json=body(
        effective_user_attributes={"value": "deploy", "overridable": False},
        template_inputs_attributes=[{"name": "unit", "input_type": "user", "required": True,
                                     "options": ["nginx", "sshd"], "default": "nginx"}]))
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["provider_type"] == "SSH"
    assert template["effective_user"] == {"value": "deploy", "current_user": False,
                                          "overridable": False}
    assert template["template_inputs"][0]["options"] == ["nginx", "sshd"]
    updated = await api.put(f"/api/job_templates/{template['id']}",
                            json={"job_template": {"description": "restart a unit"}})
    assert updated.json()["description"] == "restart a unit"
    copy = await api.post(f"/api/job_templates/{template['id']}/clone",
                          json={"job_template": {"name": "Restart copy"}})
    assert copy.status_code == 201
    assert [i["name"] for i in copy.json()["template_inputs"]] == ["unit"]
    assert (await api.delete("/api/job_templates/Restart copy")).status_code == 200
    assert (await api.get(f"/api/job_templates/{copy.json()['id']}")).status_code == 404


@pytest.mark.parametrize(
    "fields, field, words",
    [
        ({"name": RUN_COMMAND}, "name", "has already been taken"),
        ({"name": ""}, "name", "can't be blank"),
        ({"template": ""}, "template", "can't be blank"),
        ({"template": "<%= input('unit') %>"}, "template", "{{ input('unit') }}"),
        ({"template": "{% if x %}no end"}, "template", "line 1"),
        ({"provider_type": "Ansible"}, "provider_type", "SSH"),
        ({"template_inputs_attributes": [{"name": "x", "input_type": "magic"}]},
         "template_inputs.input_type", "user, fact, variable"),
        ({"template_inputs_attributes": [{"name": "x", "input_type": "fact"}]},
         "template_inputs.fact_name", "can't be blank"),
        ({"template_inputs_attributes": [{"name": "x", "input_type": "variable"}]},
         "template_inputs.variable_name", "can't be blank"),
        ({"template_inputs_attributes": [{"name": "x", "options": "a\nb", "default": "c"}]},
         "template_inputs.default", "not one of the options"),
        ({"execution_timeout_interval": "soon"}, "job_template.execution_timeout_interval", ""),
    ],
)
async def test_bad_templates_are_422_and_nothing_is_written(api, fields, field, words):
    before = await count(api)
    response = await api.post("/api/job_templates", json=body(**fields))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert field in error["errors"], error
    assert words in error["message"]
    assert await count(api) == before


async def test_locked_template_cannot_change_until_unlocked(api):
    template = (await api.post("/api/job_templates", json=body(locked=True))).json()
    path = f"/api/job_templates/{template['id']}"
    refused = await api.put(path, json={"job_template": {"template": "echo changed"}})
    assert refused.status_code == 422
    assert refused.json()["error"]["message"].startswith("This template is locked")
    assert (await api.delete(path)).status_code == 422
    assert (await api.get(path)).json()["template"] == template["template"]
    unlocked = await api.put(path, json={"job_template": {"locked": False}})
    assert unlocked.status_code == 200 and unlocked.json()["locked"] is False


async def test_template_inputs_nested_resource(api):
    template = (await api.post("/api/job_templates", json=body())).json()
    path = f"/api/templates/{template['id']}/template_inputs"
    created = await api.post(path, json={"template_input": {"name": "unit", "input_type": "user"}})
    assert created.status_code == 201
    listed = (await api.get(path)).json()
    assert [i["name"] for i in listed["results"]] == ["unit"]
    duplicate = await api.post(path, json={"template_input": {"name": "unit"}})
    assert duplicate.status_code == 422
    changed = await api.put(f"{path}/{created.json()['id']}",
                            json={"template_input": {"required": True}})
    assert changed.json()["required"] is True
    assert (await api.delete(f"{path}/unit")).status_code == 200
    assert (await api.get(path)).json()["total"] == 0


async def test_unknown_template_and_feature_are_404(api):
    assert (await api.get("/api/job_templates/999")).json() == {
        "error": {"message": "Resource job_template not found by id '999'"}}
    assert (await api.get("/api/templates/999/template_inputs")).status_code == 404
    assert (await api.get("/api/remote_execution_features/nope")).status_code == 404


async def test_feature_can_be_remapped(api):
    template = (await api.post("/api/job_templates", json=body())).json()
    response = await api.put("/api/remote_execution_features/run_script",
                             json={"remote_execution_feature": {"job_template_id": template["id"]}})
    assert response.json()["job_template_name"] == "Restart"
