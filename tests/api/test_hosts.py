"""/api/hosts: Foreman shapes, parameters, facts, paging and every bad input."""

import pytest

HOST_KEYS = {
    "id": int, "name": str, "display_name": str, "ip": (str, type(None)),
    "comment": (str, type(None)), "operatingsystem_name": (str, type(None)),
    "hostgroup_name": (str, type(None)), "domain_name": (str, type(None)),
    "organization_name": (str, type(None)), "location_name": (str, type(None)),
    "created_at": str, "updated_at": str, "parameters": list,
}


async def make_host(api, name, **attrs):
    response = await api.post("/api/hosts", json={"host": {"name": name, **attrs}})
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_show_update_delete_round_trip(api):
    created = await make_host(
        api, "web1.example.com", ip="10.0.0.1", hostgroup_name="web",
        host_parameters_attributes=[{"name": "remote_execution_ssh_user", "value": "deploy"}],
    )
    for key, kind in HOST_KEYS.items():
        assert isinstance(created[key], kind), key
    assert created["created_at"].endswith(" UTC")
    assert [(p["name"], p["value"]) for p in created["parameters"]] == [
        ("remote_execution_ssh_user", "deploy")
    ]
    by_name = (await api.get("/api/hosts/web1.example.com")).json()
    assert by_name["id"] == created["id"]
    updated = await api.put(
        f"/api/hosts/{created['id']}", json={"host": {"comment": "rebuilt", "ip": "10.0.0.2"}}
    )
    assert updated.status_code == 200
    assert updated.json()["comment"] == "rebuilt" and updated.json()["ip"] == "10.0.0.2"
    assert (await api.delete("/api/hosts/web1.example.com")).status_code == 200
    gone = await api.get(f"/api/hosts/{created['id']}")
    assert gone.status_code == 404
    assert gone.json() == {"error": {"message": f"Resource host not found by id '{created['id']}'"}}


async def test_unwrapped_body_is_accepted_like_foreman(api):
    response = await api.post("/api/hosts", json={"name": "bare.example.com"})
    assert response.status_code == 201
    assert response.json()["name"] == "bare.example.com"


async def test_secret_parameters_are_masked_and_encrypted(api, live):
    host = await make_host(
        api, "s.example.com",
        host_parameters_attributes=[{"name": "remote_execution_ssh_password", "value": "hunter2"}],
    )
    assert host["parameters"][0]["value"] == "*****"
    from sqlalchemy import text

    async with live.runtime.db.reader() as session:
        stored = (await session.execute(text("select value from host_parameters"))).scalar()
    assert "hunter2" not in stored


async def test_duplicate_name_is_422_and_nothing_written(api):
    await make_host(api, "dup.example.com")
    response = await api.post("/api/hosts", json={"host": {"name": "dup.example.com"}})
    assert response.status_code == 422
    body = response.json()["error"]
    assert body["errors"] == {"name": ["has already been taken"]}
    assert body["full_messages"] == ["Name has already been taken"]
    assert (await api.get("/api/hosts")).json()["total"] == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"host": {"name": ""}}, "name"),
        ({"host": {"name": ["x"]}}, "host.name"),
        ({"host": {"name": "x", "host_parameters_attributes": "nope"}}, "host.host_parameters_attributes"),
        ({"host": {"name": "x", "host_parameters_attributes": [{"value": "1"}]}}, "host.host_parameters_attributes.0.name"),
    ],
)
async def test_bad_host_bodies_are_422_naming_the_field(api, body, field):
    response = await api.post("/api/hosts", json=body)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["errors"]
    assert (await api.get("/api/hosts")).json()["total"] == 0


async def test_unknown_host_is_404_on_every_verb(api):
    for method in ("GET", "PUT", "DELETE"):
        kwargs = {"json": {"host": {"comment": "x"}}} if method == "PUT" else {}
        response = await api.request(method, "/api/hosts/42", **kwargs)
        assert response.status_code == 404
        assert response.json() == {"error": {"message": "Resource host not found by id '42'"}}


async def test_facts_upload_creates_host_and_replaces_facts(api):
    first = await api.post(
        "/api/hosts/facts", json={"name": "f.example.com", "facts": {"osfamily": "Debian", "cpus": 4}}
    )
    assert first.status_code == 201
    await api.post(
        "/api/hosts/facts",
        json={"name": "f.example.com", "facts": {"osfamily": "RedHat", "os": {"name": "RHEL"}}},
    )
    facts = (await api.get("/api/hosts/f.example.com/facts")).json()
    assert facts["results"] == {"f.example.com": {"os::name": "RHEL", "osfamily": "RedHat"}}


async def test_index_envelope_paging_and_order(api):
    for i in range(5):
        await make_host(api, f"h{i}.example.com")
    page = (await api.get("/api/hosts", params={"per_page": 2, "page": 2, "order": "name DESC"})).json()
    assert {k: page[k] for k in ("total", "subtotal", "page", "per_page", "search")} == {
        "total": 5, "subtotal": 5, "page": 2, "per_page": 2, "search": None,
    }
    assert page["sort"] == {"by": "name", "order": "DESC"}
    assert [h["name"] for h in page["results"]] == ["h2.example.com", "h1.example.com"]
    everything = (await api.get("/api/hosts", params={"per_page": "all"})).json()
    assert len(everything["results"]) == 5
    huge = (await api.get("/api/hosts", params={"per_page": 10**12})).json()
    assert len(huge["results"]) == 5


@pytest.mark.parametrize("params", [{"page": "0"}, {"page": "x"}, {"per_page": "-1"}, {"per_page": "lots"}])
async def test_bad_paging_is_422(api, params):
    response = await api.get("/api/hosts", params=params)
    assert response.status_code == 422
    assert next(iter(params)) in response.json()["error"]["message"]


async def test_unknown_order_field_is_400(api):
    response = await api.get("/api/hosts", params={"order": "colour DESC"})
    assert response.status_code == 400
    assert "colour" in response.json()["error"]["message"]


async def test_search_over_http_filters_hosts(api):
    await make_host(api, "web1.example.com", hostgroup_name="web")
    await make_host(api, "db1.example.com", hostgroup_name="db",
                    host_parameters_attributes=[{"name": "env", "value": "prod"}])
    found = (await api.get("/api/hosts", params={"search": "hostgroup = web or params.env = prod"})).json()
    assert sorted(h["name"] for h in found["results"]) == ["db1.example.com", "web1.example.com"]
    only = (await api.get("/api/hosts", params={"search": "name ~ web*"})).json()
    assert (only["total"], only["subtotal"], only["search"]) == (2, 1, "name ~ web*")


@pytest.mark.parametrize("query", ["colour = red", "name = (", "id > abc", "(name = a"])
async def test_bad_search_is_400_with_scoped_search_class(api, query):
    response = await api.get("/api/hosts", params={"search": query})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["class"] == "ScopedSearch::QueryNotSupported"
    assert "column" in error["message"]
