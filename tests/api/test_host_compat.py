"""What the Ansible host module stores it reads back unchanged: managed, build, typed parameters."""

from __future__ import annotations

import pytest

PARAMS = [
    {"name": "tier", "value": "web", "parameter_type": "string"},
    {"name": "port", "value": "8022", "parameter_type": "integer"},
    {"name": "ratio", "value": "0.5", "parameter_type": "real"},
    {"name": "enabled", "value": True, "parameter_type": "boolean"},
    {"name": "names", "value": '["a", "b"]', "parameter_type": "array"},
    {"name": "limits", "value": {"cpu": 2}, "parameter_type": "hash"},
    {"name": "token", "value": "s3cret", "parameter_type": "string", "hidden_value": True},
    {"name": "remote_execution_ssh_password", "value": "pw", "parameter_type": "string"},
]
READ_BACK = {
    "tier": ("web", "string", False), "port": (8022, "integer", False),
    "ratio": (0.5, "real", False), "enabled": (True, "boolean", False),
    "names": (["a", "b"], "array", False), "limits": ({"cpu": 2}, "hash", False),
    "token": ("*****", "string", True), "remote_execution_ssh_password": ("*****", "string", False),
}


def by_name(host: dict) -> dict[str, tuple]:
    """Map a host's parameters to (value, parameter_type, hidden_value)."""
    return {p["name"]: (p["value"], p["parameter_type"], p["hidden_value"])
            for p in host["parameters"]}


async def test_managed_build_and_typed_parameters_read_back_as_stored(api):
    created = await api.post("/api/hosts", json={"host": {
        "name": "typed.example.com", "ip": "192.0.2.7", "managed": False, "build": True,
        "host_parameters_attributes": PARAMS}})
    assert created.status_code == 201, created.text
    host = created.json()
    assert (host["managed"], host["build"], host["ip"]) == (False, True, "192.0.2.7")
    assert by_name(host) == READ_BACK
    shown = (await api.get(f"/api/hosts/{host['id']}")).json()
    assert by_name(shown) == READ_BACK
    assert {"id", "name", "value", "parameter_type", "hidden_value"} <= set(shown["parameters"][0])


async def test_show_hidden_parameters_reveals_hidden_values_but_never_secrets(api):
    host = (await api.post("/api/hosts", json={"host": {
        "name": "hidden.example.com", "host_parameters_attributes": PARAMS}})).json()
    shown = (await api.get(f"/api/hosts/{host['id']}",
                           params={"show_hidden_parameters": "true"})).json()
    values = {name: value for name, (value, _, _) in by_name(shown).items()}
    assert values["token"] == "s3cret"
    assert values["remote_execution_ssh_password"] == "*****"


async def test_an_update_keeps_types_and_flags_it_does_not_mention(api):
    host = (await api.post("/api/hosts", json={"host": {
        "name": "keep.example.com", "managed": True, "host_parameters_attributes": PARAMS}})).json()
    changed = await api.put(f"/api/hosts/{host['id']}", json={"host": {
        "comment": "x", "host_parameters_attributes": [{"name": "port", "value": "9022"}]}})
    assert changed.status_code == 200
    body = changed.json()
    assert body["managed"] is True and by_name(body)["port"] == (9022, "integer", False)
    assert by_name(body)["token"] == ("*****", "string", True)


@pytest.mark.parametrize("parameter_type", ["float", "String", ""])
async def test_an_unknown_parameter_type_is_422_and_nothing_written(api, parameter_type):
    response = await api.post("/api/hosts", json={"host": {
        "name": "bad.example.com",
        "host_parameters_attributes": [{"name": "x", "value": "1",
                                        "parameter_type": parameter_type}]}})
    assert response.status_code == 422
    assert "parameter_type" in response.json()["error"]["errors"]
    assert (await api.get("/api/hosts")).json()["total"] == 0


async def test_facts_page_and_search_by_name(api):
    await api.post("/api/hosts/facts", json={"name": "facts.example.com", "facts": {
        "os": {"family": "Debian", "release": "12"}, "kernel": "6.1", "cpus": 4}})
    page = (await api.get("/api/hosts/facts.example.com/facts",
                          params={"per_page": 2, "page": 1})).json()
    assert (page["total"], page["subtotal"], page["per_page"]) == (4, 4, 2)
    assert page["results"] == {"facts.example.com": {"cpus": "4", "kernel": "6.1"}}
    found = (await api.get("/api/hosts/facts.example.com/facts",
                           params={"search": "name ~ os::*"})).json()
    assert found["subtotal"] == 2 and found["search"] == "name ~ os::*"
    assert found["results"]["facts.example.com"] == {"os::family": "Debian", "os::release": "12"}
