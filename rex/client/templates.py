"""`rex job-template list|info|create|delete` over /api/job_templates."""

from __future__ import annotations

from pathlib import Path

import click

from rex.client.http import Api, ApiFailure
from rex.client.inputs import key_values, to_bool
from rex.client.options import client_options, page_options, session

__all__ = ["job_template", "search_literal", "template_id"]

INPUT_KEYS = {
    "name", "input_type", "required", "description", "default", "hidden_value", "advanced",
    "options", "value_type", "fact_name", "variable_name", "resource_type",
}
BOOL_KEYS = {"required", "hidden_value", "advanced"}


@click.group("job-template")
@client_options
def job_template() -> None:
    """Job templates: list, show, create, delete."""


def search_literal(value: str) -> str:
    """Quote `value` for the search language (backslash escapes `"` and `\\`)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def template_id(api: Api, ref: str) -> int:
    """Return the id of the job template with id or exact name `ref`."""
    if ref.isdigit():
        return int(ref)
    body = api.get("/api/job_templates", search=f"name = {search_literal(ref)}", per_page="all")
    for row in body.get("results") or []:
        if row.get("name") == ref:
            return int(row["id"])
    raise ApiFailure(f"no job template is named {ref!r} (`rex job-template list` shows them)",
                     status=404)


@job_template.command("list")
@client_options
@page_options
def template_list(search: str | None, page: int | None, per_page: int | None) -> None:
    """List job templates."""
    api, out = session()
    body = api.get("/api/job_templates", search=search, page=page, per_page=per_page)
    if out.json:
        return out.dump(body)
    rows = [(t["id"], t["name"], t.get("job_category"), t.get("provider_type"))
            for t in body["results"]]
    out.table(("Id", "Name", "Category", "Provider"), rows)
    out.page_footer(body, "job templates")


@job_template.command("info")
@client_options
@click.argument("ref", metavar="TEMPLATE")
def template_info(ref: str) -> None:
    """Show a job template (by id or name): fields, inputs and body."""
    api, out = session()
    tid = template_id(api, ref)
    body = api.get(f"/api/job_templates/{tid}")
    inputs = api.get(f"/api/templates/{tid}/template_inputs", per_page="all")
    if out.json:
        return out.dump({**body, "template_inputs": inputs.get("results", [])})
    effective = body.get("effective_user") or {}
    out.fields([
        ("Id", body["id"]), ("Name", body["name"]), ("Category", body.get("job_category")),
        ("Provider", body.get("provider_type")),
        ("Description format", body.get("description_format")),
        ("Description", body.get("description")), ("Locked", body.get("locked")),
        ("Effective user", effective.get("value") or ("current user" if effective.get(
            "current_user") else "default")),
        ("Overridable", effective.get("overridable")),
    ])
    rows = [(i["name"], i.get("input_type"), i.get("required"), i.get("default"),
             i.get("description")) for i in inputs.get("results") or []]
    if rows:
        out.table(("Input", "Type", "Required", "Default", "Description"), rows, title="Inputs")
    out.line("Template:")
    out.line(body.get("template") or "")


@job_template.command("create")
@client_options
@click.option("--name", required=True, help="Template name (unique).")
@click.option("--file", "file", required=True, type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="The script, a Jinja2 template (e.g. script.sh.j2).")
@click.option("--job-category", default="Commands", show_default=True, help="Category.")
@click.option("--provider-type", default="script", show_default=True, help="Provider.")
@click.option("--description-format", help="Job description, e.g. 'Run %{command}'.")
@click.option("--description", help="What the template is for.")
@click.option("--effective-user", help="Run as this user (sudo/su/dzdo).")
@click.option("--overridable/--not-overridable", default=True, show_default=True,
              help="May a job choose another effective user?")
@click.option("--input", "inputs", multiple=True, metavar="name=N[,required=true,...]",
              help="A template input (repeatable). Keys: " + ", ".join(sorted(INPUT_KEYS))
                   + "; options separated by |.")
def template_create(name: str, file: Path, job_category: str, provider_type: str,
                    description_format: str | None, description: str | None,
                    effective_user: str | None, overridable: bool,
                    inputs: tuple[str, ...]) -> None:
    """Create a job template from a script file."""
    attrs: dict = {"name": name, "template": file.read_text(), "job_category": job_category,
                   "provider_type": provider_type}
    for key, value in (("description_format", description_format),
                       ("description", description)):
        if value is not None:
            attrs[key] = value
    attrs["effective_user_attributes"] = {"overridable": overridable}
    if effective_user:
        attrs["effective_user_attributes"]["value"] = effective_user
    if inputs:
        attrs["template_inputs_attributes"] = [template_input(text) for text in inputs]
    api, out = session()
    body = api.post("/api/job_templates", {"job_template": attrs})
    if out.json:
        return out.dump(body)
    out.line(f"Job template {body['name']} created (id {body['id']})")


def template_input(text: str) -> dict:
    """Turn `name=x,required=true,...` into a template input for the API."""
    try:
        values: dict = key_values(text)
        unknown = sorted(set(values) - INPUT_KEYS)
        if unknown:
            raise click.BadParameter(f"unknown key(s) {', '.join(unknown)}; "
                                     f"use: {', '.join(sorted(INPUT_KEYS))}")
        if not values.get("name"):
            raise click.BadParameter(f"{text!r} has no name=...")
        for key in BOOL_KEYS & set(values):
            values[key] = to_bool(values[key], key)
    except click.BadParameter as exc:
        exc.param_hint = "'--input'"
        raise
    if "options" in values:
        values["options"] = "\n".join(values["options"].split("|"))
    values.setdefault("input_type", "user")
    return values


@job_template.command("delete")
@client_options
@click.argument("ref", metavar="TEMPLATE")
def template_delete(ref: str) -> None:
    """Delete a job template (by id or name)."""
    api, out = session()
    body = api.delete(f"/api/job_templates/{template_id(api, ref)}")
    if out.json:
        return out.dump(body)
    out.line(f"Job template {body.get('name', ref)} deleted (id {body.get('id')})")
