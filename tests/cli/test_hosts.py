"""`rex host ...` against a live rex: tables for people, the API's JSON for scripts."""

from __future__ import annotations

import json


async def test_create_list_info_delete_a_host(cli):
    made = await cli.run("host", "create", "--name", "web1.example.com", "--ip", "10.0.0.1",
                         "--param", "remote_execution_ssh_port=2222,note='a, b'")
    assert (made.code, made.out) == (0, "Host web1.example.com created (id 1)\n"), made

    listed = await cli.run("host", "list")
    assert listed.code == 0, listed
    assert "web1.example.com" in listed.out and "10.0.0.1" in listed.out

    info = await cli.run("host", "info", "web1.example.com")
    assert info.code == 0, info
    assert "IP:" in info.out and "remote_execution_ssh_port" in info.out and "a, b" in info.out

    gone = await cli.run("host", "delete", "1")
    assert (gone.code, gone.out) == (0, "Host web1.example.com deleted (id 1)\n"), gone
    assert "web1" not in (await cli.run("host", "list")).out


async def test_json_output_is_the_api_body_wherever_the_option_goes(cli, rexlite):
    await cli.run("host", "create", "--name", "db1.example.com")
    api_body = (await rexlite.client.get("/api/hosts")).json()
    for args in (("--output", "json", "host", "list"), ("host", "list", "--output", "json"),
                 ("host", "--output", "json", "list")):
        ran = await cli.run(*args)
        assert ran.code == 0, ran
        assert json.loads(ran.out) == api_body


async def test_global_server_and_user_options_beat_the_environment(cli):
    ran = await cli.run("--server", cli.url, "--user", "admin", "host", "list",
                        env={"REX_SERVER": "http://127.0.0.1:1", "REX_USER": "nobody"})
    assert ran.code == 0, ran


async def test_list_searches_and_pages(cli):
    for i in range(5):
        await cli.run("host", "create", "--name", f"node{i}.example.com")
    await cli.run("host", "create", "--name", "other.example.com")
    found = json.loads((await cli.run("host", "list", "--search", "name ~ node*",
                                      "--output", "json")).out)
    assert found["subtotal"] == 5
    paged = await cli.run("host", "list", "--search", "name ~ node*", "--per-page", "2",
                          "--page", "2")
    assert paged.code == 0, paged
    assert "node2" in paged.out and "node0" not in paged.out
    assert "2 of 5 hosts (page 2)" in paged.err


async def test_facts_of_a_host(cli, rexlite):
    await rexlite.client.post("/api/hosts/facts", json={
        "name": "web1.example.com", "facts": {"os::family": "Debian", "cpus": "4"}})
    table = await cli.run("host", "facts", "web1.example.com")
    assert table.code == 0, table
    assert "os::family" in table.out and "Debian" in table.out
    as_json = json.loads((await cli.run("host", "facts", "web1.example.com",
                                        "--output", "json")).out)
    assert as_json["results"]["web1.example.com"]["cpus"] == "4"
