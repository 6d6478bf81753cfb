"""Job templates and their inputs.

Every change is checked in full before anything is written: a request that breaks a rule
raises one `ValidationFailed` naming every bad field (in Rails' words, as Foreman answers) and
leaves the rows as they were. A locked template takes no change but being unlocked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from rex.errors import NotFound, ValidationFailed
from rex.models import JobTemplate, TemplateInput, utcnow
from rex.paging import Page, PageRequest, search_page
from rex.refs import find_by_ref
from rex.rendering import check_syntax
from search import FieldRegistry, IntegerField, SearchError, TextField
from search.fields import ColumnField, Cond, Use

__all__ = [
    "INPUT_FIELDS", "INPUT_TYPES", "LOCKED", "LOCKED_DELETE", "PROVIDER_TYPES", "TEMPLATE_FIELDS",
    "clone_template", "create_template", "delete_input", "delete_template", "find_input",
    "find_template", "list_inputs", "list_templates", "option_list", "save_input",
    "template_names", "update_template",
]  # fmt: skip

PROVIDER_TYPES = ("SSH", "script")
INPUT_TYPES = ("user", "fact", "variable")
VALUE_TYPES = ("plain", "search", "date", "resource")
LOCKED = "This template is locked. Please clone it to a new template to customize."
LOCKED_DELETE = "This template is locked and may not be removed."
LOCKED_INPUT_DELETE = "Cannot delete template input as template is locked."
_LIMITED = ("name", "job_category", "provider_type", "description_format",
            "effective_user_value", "fact_name", "variable_name")  # String(255) columns
_BOOL = {"true": True, "t": True, "1": True, "yes": True,
         "false": False, "f": False, "0": False, "no": False}  # fmt: skip
# What a new row holds for each field a request leaves out (the models' defaults).
_TEMPLATE_NEW = {
    "name": None, "template": None, "job_category": "Commands", "provider_type": "SSH",
    "description_format": None, "description": None, "execution_timeout_interval": None,
    "locked": False, "snippet": False, "effective_user_value": None,
    "effective_user_overridable": True, "effective_user_current_user": False,
}  # fmt: skip
_EFFECTIVE = {"value": "effective_user_value", "overridable": "effective_user_overridable",
              "current_user": "effective_user_current_user"}  # fmt: skip
_INPUT_NEW = {
    "name": None, "input_type": "user", "fact_name": None, "variable_name": None,
    "required": False, "advanced": False, "default": None, "options": None,
    "value_type": "plain", "hidden_value": False, "description": None,
}  # fmt: skip


@dataclass(frozen=True, eq=False)
class _BooleanField(ColumnField):
    """`locked = true`: a boolean column, `=` and `!=` only."""

    type_name: ClassVar[str] = "boolean"
    default_op: ClassVar[str] = "="

    def compare(self, op: str, value: Any, use: Use) -> Cond:
        """Compile `name = true|false` (or `!=`)."""
        if op not in ("=", "!="):
            raise self.unsupported(op, use.column)
        truth = _BOOL.get(value.text.lower())
        if truth is None:
            message = f"Value '{value.text[:80]}' is not valid for field '{use.name}': use true or false"
            raise SearchError(message, value.column, kind="bad_value")
        return Cond(self.column == (truth if op == "=" else not truth), False)


TEMPLATE_FIELDS = FieldRegistry({
    "name": TextField(column=JobTemplate.name),
    "job_category": TextField(column=JobTemplate.job_category),
    "provider_type": TextField(column=JobTemplate.provider_type),
    "locked": _BooleanField(column=JobTemplate.locked),
    "snippet": _BooleanField(column=JobTemplate.snippet),
    "template": TextField(column=JobTemplate.template, default=False),
    "id": IntegerField(column=JobTemplate.id),
})  # fmt: skip
INPUT_FIELDS = FieldRegistry({
    "name": TextField(column=TemplateInput.name),
    "input_type": TextField(column=TemplateInput.input_type),
    "id": IntegerField(column=TemplateInput.id),
})  # fmt: skip


class _Problems:
    """Field errors collected over a whole request, raised together."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, problem: str) -> None:
        self.errors.setdefault(field, []).append(problem)

    def raise_any(self) -> None:
        if self.errors:
            human = [f"{_human(f)} {p}" for f, ps in self.errors.items() for p in ps]
            raise ValidationFailed("; ".join(human), self.errors)


def _human(field: str) -> str:
    return field.replace(".", " ").replace("_", " ").capitalize()


# -- lookups and listings ----------------------------------------------------------------------


async def find_template(session: AsyncSession, ref: str | int) -> JobTemplate:
    """Return the job template with id or name `ref` (inputs loaded), or raise NotFound."""
    stmt = select(JobTemplate).options(selectinload(JobTemplate.inputs))
    template = await find_by_ref(session, stmt, JobTemplate.id, JobTemplate.name, ref)
    if template is None:
        raise NotFound(f"Resource job_template not found by id '{ref}'")
    return template


async def find_input(session: AsyncSession, *, template: JobTemplate, ref: str | int) -> TemplateInput:
    """Return `template`'s input with id or name `ref`, or raise NotFound."""
    stmt = select(TemplateInput).where(TemplateInput.template_id == template.id)
    found = await find_by_ref(session, stmt, TemplateInput.id, TemplateInput.name, ref)
    if found is None:
        raise NotFound(f"Resource template_input not found by id '{ref}'")
    return found


async def list_templates(session: AsyncSession, *, request: PageRequest) -> Page:
    """Return one page of job templates matching `request.search`, by name unless ordered."""
    t = JobTemplate
    base = select(t)
    columns = (t.id, t.name, t.job_category, t.provider_type, t.created_at, t.updated_at)
    return await search_page(session, request, base, TEMPLATE_FIELDS, columns, [t.name, t.id])


async def list_inputs(session: AsyncSession, *, template: JobTemplate, request: PageRequest) -> Page:
    """Return one page of `template`'s inputs matching `request.search`."""
    i = TemplateInput
    base = select(i).where(i.template_id == template.id)
    return await search_page(session, request, base, INPUT_FIELDS, (i.id, i.name, i.input_type), [i.id])


async def template_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    """Return the names of the job templates with the given ids."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    stmt = select(JobTemplate.id, JobTemplate.name).where(JobTemplate.id.in_(wanted))
    return {row.id: row.name for row in await session.execute(stmt)}


def option_list(options: str | None) -> list[str] | None:
    """Split stored options as Foreman does (one per line); None when there are none."""
    if not options or not options.strip():
        return None
    return [line.strip() for line in re.split(r"\r?\n", options)]


# -- values and rules --------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _template_values(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Turn `job_template` attributes into column values (only those given)."""
    values = {k: attrs[k] for k in _TEMPLATE_NEW if k in attrs}
    if isinstance(values.get("name"), str):
        values["name"] = values["name"].strip()
    for key in ("locked", "snippet"):
        if key in values:
            values[key] = bool(values[key])
    user = attrs.get("effective_user_attributes") or {}
    for key, column in _EFFECTIVE.items():
        if key in user:
            value = user[key]
            fallback = _TEMPLATE_NEW[column] if value is None else bool(value)
            values[column] = _text(value) if key == "value" else fallback
    return values


def _input_values(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Turn template input attributes into column values (only those given)."""
    values = {k: attrs[k] for k in _INPUT_NEW if k in attrs}
    for key in ("name", "input_type", "fact_name", "variable_name", "default", "description"):
        if key in values:
            values[key] = _text(values[key])
    if isinstance(values.get("name"), str):
        values["name"] = values["name"].strip()
    if isinstance(values.get("options"), list | tuple):
        values["options"] = "\n".join(str(o) for o in values["options"])
    for key in ("required", "advanced", "hidden_value"):
        if key in values:
            values[key] = bool(values[key])
    if "value_type" in values and values["value_type"] is None:
        values["value_type"] = "plain"
    return values


def _state(row: Any, columns: Mapping[str, Any]) -> dict[str, Any]:
    return {key: getattr(row, key) for key in columns}


async def _check_template(
    session: AsyncSession, values: Mapping[str, Any], problems: _Problems, *, own_id: int | None
) -> None:
    if not values["name"]:
        problems.add("name", "can't be blank")
    else:
        other = JobTemplate.id != (own_id or 0)
        stmt = select(JobTemplate.id).where(JobTemplate.name == values["name"], other)
        if await session.scalar(stmt) is not None:
            problems.add("name", "has already been taken")
    if not (values["template"] or "").strip():
        problems.add("template", "can't be blank")
    else:
        try:
            check_syntax(values["template"])
        except ValidationFailed as exc:
            problems.add("template", exc.errors["template"][0])
    if not values["snippet"] and not (values["job_category"] or "").strip():
        problems.add("job_category", "can't be blank")
    provider = values["provider_type"]
    if not provider:
        problems.add("provider_type", "can't be blank")
    elif provider.lower() not in ("ssh", "script"):
        problems.add("provider_type", f"is not included in the list (SSH, script): '{provider}'")
    timeout = values["execution_timeout_interval"]
    if timeout is not None and not 0 < timeout < 2**31:
        problems.add("execution_timeout_interval", "must be greater than 0")
    _check_lengths(values, problems, "")


def _check_lengths(values: Mapping[str, Any], problems: _Problems, prefix: str) -> None:
    for key in _LIMITED:
        if len(values.get(key) or "") > 255:
            problems.add(prefix + key, "is too long (maximum is 255 characters)")


def _check_input(values: Mapping[str, Any], problems: _Problems, prefix: str) -> None:
    if not values["name"]:
        problems.add(prefix + "name", "can't be blank")
    kind = values["input_type"]
    if not kind:
        problems.add(prefix + "input_type", "can't be blank")
    elif kind not in INPUT_TYPES:
        problems.add(prefix + "input_type", f"is not included in the list (user, fact, variable): '{kind}'")
    elif kind == "fact" and not (values["fact_name"] or "").strip():
        problems.add(prefix + "fact_name", "can't be blank")
    elif kind == "variable" and not (values["variable_name"] or "").strip():
        problems.add(prefix + "variable_name", "can't be blank")
    if values["value_type"] not in VALUE_TYPES:
        problems.add(prefix + "value_type", "is not included in the list (plain, search, date, resource)")
    options = option_list(values["options"])
    if options and values["default"] and values["default"] not in options:
        problems.add(prefix + "default", f"is not included in the list ({', '.join(options)})")
    _check_lengths(values, problems, prefix)


_Plan = dict[Any, tuple[TemplateInput | None, dict[str, Any]]]


def _plan_inputs(existing: Sequence[TemplateInput], items: Any, problems: _Problems) -> _Plan:
    """Apply `template_inputs_attributes` on paper: {key: (row or None, final values)}.

    An item names its input by `id`, or else by `name` (so sending the same inputs twice
    changes nothing); `_destroy` removes it; any other item adds an input.
    """
    plan: _Plan = {i.id: (i, _state(i, _INPUT_NEW)) for i in existing}
    by_id, by_name = {i.id: i for i in existing}, {i.name: i for i in existing}
    for n, item in enumerate(items.values() if isinstance(items, Mapping) else items or ()):
        if item.get("id") is not None:
            row = by_id.get(item["id"])
            if row is None:
                problems.add("template_inputs.id", f"is not an input of this template: {item['id']}")
                continue
        else:
            row = by_name.get(str(item.get("name") or "").strip())
        if item.get("_destroy"):
            plan.pop(row.id if row else None, None)
            continue
        key = row.id if row else ("new", n)
        base = plan[key][1] if key in plan else _INPUT_NEW
        plan[key] = (row, {**base, **_input_values(item)})
    for _row, values in plan.values():
        _check_input(values, problems, "template_inputs.")
    names = [v["name"] for _, v in plan.values() if v["name"]]
    if len(names) != len(set(names)):
        problems.add("template_inputs.name", "has already been taken")
    return plan


async def _flush(session: AsyncSession) -> None:
    """Flush; a unique name taken by a concurrent request is the same 422 as a checked one."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ValidationFailed.field("name", "has already been taken") from exc


# -- job templates -----------------------------------------------------------------------------


async def create_template(session: AsyncSession, *, attrs: Mapping[str, Any]) -> JobTemplate:
    """Create a job template from Foreman's `job_template` attributes (inputs included)."""
    values = {**_TEMPLATE_NEW, **_template_values(attrs)}
    problems = _Problems()
    plan = _plan_inputs([], attrs.get("template_inputs_attributes"), problems)
    await _check_template(session, values, problems, own_id=None)
    problems.raise_any()
    template = JobTemplate(**values, inputs=[TemplateInput(**v) for _, v in plan.values()])
    session.add(template)
    await _flush(session)
    return await find_template(session, template.id)


async def update_template(
    session: AsyncSession, *, template: JobTemplate, attrs: Mapping[str, Any]
) -> JobTemplate:
    """Change `template`; a locked one takes no change but `locked: false`."""
    current = _state(template, _TEMPLATE_NEW)
    given = _template_values(attrs)
    changed = {k for k, v in given.items() if current[k] != v}
    problems = _Problems()
    plan = _plan_inputs(template.inputs, attrs.get("template_inputs_attributes"), problems)
    inputs_changed = set(plan) != {i.id for i in template.inputs} or any(
        _state(row, _INPUT_NEW) != values for row, values in plan.values() if row is not None
    )
    if template.locked and (changed - {"locked"} or inputs_changed):
        raise ValidationFailed(LOCKED)
    await _check_template(session, {**current, **given}, problems, own_id=template.id)
    problems.raise_any()
    if not changed and not inputs_changed:
        return template
    for key in changed:
        setattr(template, key, given[key])
    await _apply_inputs(session, template, plan)
    template.updated_at = utcnow()
    await _flush(session)
    return await find_template(session, template.id)


async def _apply_inputs(session: AsyncSession, template: JobTemplate, plan: _Plan) -> None:
    gone = [i for i in template.inputs if i.id not in plan]
    for row in gone:
        template.inputs.remove(row)
    if gone:  # deletes first, so a name this request frees can be taken by it
        await session.flush()
    for row, values in plan.values():
        if row is None:
            template.inputs.append(TemplateInput(**values))
            continue
        for key, value in values.items():
            if getattr(row, key) != value:
                setattr(row, key, value)


async def delete_template(session: AsyncSession, *, template: JobTemplate) -> None:
    """Delete `template` with its inputs; its jobs and features stay, pointing at nothing."""
    if template.locked:
        raise ValidationFailed(LOCKED_DELETE)
    await session.delete(template)
    await session.flush()


async def clone_template(
    session: AsyncSession, *, template: JobTemplate, name: str | None
) -> JobTemplate:
    """Copy `template` with its inputs and effective user under a new name, unlocked."""
    values = {**_state(template, _TEMPLATE_NEW), "name": (name or "").strip(), "locked": False}
    problems = _Problems()
    await _check_template(session, values, problems, own_id=None)
    problems.raise_any()
    copies = [TemplateInput(**_state(i, _INPUT_NEW)) for i in template.inputs]
    clone = JobTemplate(**values, inputs=copies)
    session.add(clone)
    await _flush(session)
    return await find_template(session, clone.id)


# -- template inputs ---------------------------------------------------------------------------


async def save_input(
    session: AsyncSession, *, template: JobTemplate, attrs: Mapping[str, Any],
    template_input: TemplateInput | None = None,
) -> TemplateInput:
    """Add an input to `template`, or change `template_input`; the body may use it or not yet."""
    before = _state(template_input, _INPUT_NEW) if template_input else _INPUT_NEW
    values = {**before, **_input_values(attrs)}
    if template_input is not None and values == before:
        return template_input
    if template.locked:
        raise ValidationFailed(LOCKED)
    problems = _Problems()
    _check_input(values, problems, "")
    if any(i.name == values["name"] for i in template.inputs if i is not template_input):
        problems.add("name", "has already been taken")
    problems.raise_any()
    row = template_input or TemplateInput()
    for key, value in values.items():
        setattr(row, key, value)
    if template_input is None:
        template.inputs.append(row)
    await _flush(session)
    return row


async def delete_input(
    session: AsyncSession, *, template: JobTemplate, template_input: TemplateInput
) -> None:
    """Remove an input from `template`."""
    if template.locked:
        raise ValidationFailed(LOCKED_INPUT_DELETE)
    if template_input in template.inputs:  # loaded by two queries: a concurrent add may miss one
        template.inputs.remove(template_input)
    else:
        await session.delete(template_input)
    await session.flush()
