"""`rex host list|info|create|delete|facts`: the inventory over /api/hosts."""

from __future__ import annotations

from urllib.parse import quote

import click

from rex.client.inputs import key_values
from rex.client.options import client_options, page_options, session

__all__ = ["host"]

LIST_COLUMNS = ("Id", "Name", "IP", "Operating system", "Host group")


@click.group()
@client_options
def host() -> None:
    """Hosts: list, show, create, delete, facts."""


def host_path(ref: str) -> str:
    """Return the API path of a host given by id or name."""
    return f"/api/hosts/{quote(ref, safe='')}"


@host.command("list")
@client_options
@page_options
def host_list(search: str | None, page: int | None, per_page: int | None) -> None:
    """List hosts, optionally matching a search query."""
    api, out = session()
    body = api.get("/api/hosts", search=search, page=page, per_page=per_page)
    if out.json:
        return out.dump(body)
    rows = [(h["id"], h["name"], h.get("ip"), h.get("operatingsystem_name"),
             h.get("hostgroup_name")) for h in body["results"]]
    out.table(LIST_COLUMNS, rows)
    out.page_footer(body, "hosts")


@host.command("info")
@client_options
@click.argument("ref", metavar="HOST")
def host_info(ref: str) -> None:
    """Show one host (by id or name) and its parameters."""
    api, out = session()
    body = api.get(host_path(ref))
    if out.json:
        return out.dump(body)
    out.fields([
        ("Id", body["id"]), ("Name", body["name"]), ("IP", body.get("ip")),
        ("Comment", body.get("comment")),
        ("Operating system", body.get("operatingsystem_name")),
        ("Host group", body.get("hostgroup_name")), ("Domain", body.get("domain_name")),
        ("Organization", body.get("organization_name")),
        ("Location", body.get("location_name")),
        ("Created", body.get("created_at")), ("Updated", body.get("updated_at")),
    ])
    params = body.get("parameters") or []
    if params:
        out.table(("Parameter", "Value"), [(p["name"], p["value"]) for p in params],
                  title="Parameters")


@host.command("create")
@client_options
@click.option("--name", required=True, help="Host name (FQDN).")
@click.option("--ip", help="Address rex connects to (default: the name).")
@click.option("--comment", help="Free-form comment.")
@click.option("--param", "params", multiple=True, metavar="K=V[,K2=V2]",
              help="Host parameter, e.g. remote_execution_ssh_port=2222 (repeatable).")
def host_create(name: str, ip: str | None, comment: str | None, params: tuple[str, ...]) -> None:
    """Create a host."""
    attrs: dict = {"name": name}
    if ip:
        attrs["ip"] = ip
    if comment:
        attrs["comment"] = comment
    values = _params(params)
    if values:
        attrs["host_parameters_attributes"] = [{"name": k, "value": v} for k, v in values.items()]
    api, out = session()
    body = api.post("/api/hosts", {"host": attrs})
    if out.json:
        return out.dump(body)
    out.line(f"Host {body['name']} created (id {body['id']})")


def _params(params: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for text in params:
        try:
            values.update(key_values(text))
        except click.BadParameter as exc:
            exc.param_hint = "'--param'"
            raise
    return values


@host.command("delete")
@client_options
@click.argument("ref", metavar="HOST")
def host_delete(ref: str) -> None:
    """Delete a host (by id or name)."""
    api, out = session()
    body = api.delete(host_path(ref))
    if out.json:
        return out.dump(body)
    out.line(f"Host {body['name']} deleted (id {body['id']})")


@host.command("facts")
@client_options
@click.argument("ref", metavar="HOST")
def host_facts(ref: str) -> None:
    """Show a host's facts."""
    api, out = session()
    body = api.get(host_path(ref) + "/facts", per_page="all")
    if out.json:
        return out.dump(body)
    facts = next(iter((body.get("results") or {}).values()), {})
    if not facts:
        return out.note(f"host {ref} has no facts")
    out.table(("Fact", "Value"), sorted(facts.items()))
