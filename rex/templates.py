"""Job templates and their inputs: create, change, clone, delete, with Foreman's rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from rex.errors import BadRequest, NotFound, ValidationFailed
from rex.models import JobTemplate, RemoteExecutionFeature, TemplateInput, utcnow
from rex.paging import Page, PageRequest, fetch_page
from rex.rendering import check_syntax

__all__ = [
    "LOCKED_MESSAGE",
    "clone_template",
    "create_template",
    "delete_input",
    "delete_template",
    "find_feature",
    "find_input",
    "find_template",
    "list_features",
    "list_templates",
    "save_input",
    "update_template",
]

LOCKED_MESSAGE = "This template is locked. Please clone it to a new template to customize."
PROVIDERS = ("SSH", "script")
INPUT_TYPES = ("user", "fact", "variable")
SCALARS = ("name", "description", "job_category", "description_format", "template",
           "provider_type", "snippet", "locked", "execution_timeout_interval")
INPUT_FIELDS = ("name", "input_type", "fact_name", "variable_name", "required", "advanced",
                "default", "options", "value_type", "hidden_value", "description")
ORDERABLE = {"id": JobTemplate.id, "name": JobTemplate.name,
             "job_category": JobTemplate.job_category, "provider_type": JobTemplate.provider_type,
             "created_at": JobTemplate.created_at, "updated_at": JobTemplate.updated_at}


def _loaded():
    return select(JobTemplate).options(selectinload(JobTemplate.inputs))


async def find_template(session: AsyncSession, ref: str | int) -> JobTemplate:
    """Return the template with id or name `ref`, or raise NotFound."""
    text = str(ref)
    cond = JobTemplate.name == text
    if text.isdigit():
        cond = (JobTemplate.id == int(text)) | cond
    template = (await session.scalars(_loaded().where(cond).order_by(JobTemplate.id))).first()
    if template is None:
        raise NotFound(f"Resource job_template not found by id '{text}'")
    return template


async def list_templates(session: AsyncSession, *, request: PageRequest, where: Any = None) -> Page:
    """Return one page of templates."""
    field, direction = request.sort()
    order = [JobTemplate.name, JobTemplate.id]
    if field:
        if field not in ORDERABLE:
            raise BadRequest(f"Unknown order field '{field}': use one of {', '.join(ORDERABLE)}")
        column = ORDERABLE[field]
        order = [column.desc() if direction == "DESC" else column.asc(), JobTemplate.id]
    return await fetch_page(session, base=_loaded(), request=request, where=where, order_by=order)


async def create_template(session: AsyncSession, *, attrs: Mapping[str, Any]) -> JobTemplate:
    """Create a template with its effective user and inputs; every rule is checked first."""
    for name in ("name", "template"):
        if not str(attrs.get(name) or "").strip():
            raise ValidationFailed.field(name, "can't be blank")
    template = JobTemplate(inputs=[], job_category="Commands", provider_type="SSH")
    await _apply(session, template, attrs)
    session.add(template)
    await session.flush()
    return await find_template(session, template.id)


async def update_template(
    session: AsyncSession, *, template: JobTemplate, attrs: Mapping[str, Any]
) -> JobTemplate:
    """Change a template; a locked one only accepts `locked: false`."""
    if template.locked and set(attrs) - {"locked"} and attrs.get("locked") is not False:
        raise ValidationFailed(LOCKED_MESSAGE, {"base": [LOCKED_MESSAGE]})
    await _apply(session, template, attrs)
    template.updated_at = utcnow()
    await session.flush()
    return await find_template(session, template.id)


async def delete_template(session: AsyncSession, *, template: JobTemplate) -> None:
    """Delete an unlocked template."""
    if template.locked:
        raise ValidationFailed(LOCKED_MESSAGE, {"base": [LOCKED_MESSAGE]})
    await session.delete(template)
    await session.flush()


async def clone_template(session: AsyncSession, *, template: JobTemplate, name: str) -> JobTemplate:
    """Copy a template under a new name, with its inputs and effective user, unlocked."""
    attrs = {k: getattr(template, k) for k in SCALARS if k not in ("name", "locked")}
    attrs.update(name=name, locked=False, effective_user_attributes={
        "value": template.effective_user_value,
        "overridable": template.effective_user_overridable,
        "current_user": template.effective_user_current_user,
    }, template_inputs_attributes=[
        {k: getattr(i, k) for k in INPUT_FIELDS} for i in template.inputs
    ])
    return await create_template(session, attrs=attrs)


async def _apply(session: AsyncSession, template: JobTemplate, attrs: Mapping[str, Any]) -> None:
    if "name" in attrs:
        name = str(attrs["name"] or "").strip()
        if not name:
            raise ValidationFailed.field("name", "can't be blank")
        taken = await session.scalar(
            select(JobTemplate.id).where(JobTemplate.name == name, JobTemplate.id != template.id)
        )
        if taken is not None:
            raise ValidationFailed.field("name", "has already been taken")
    if "provider_type" in attrs and attrs["provider_type"] not in PROVIDERS:
        raise ValidationFailed.field("provider_type", f"must be one of {', '.join(PROVIDERS)}")
    if "template" in attrs:
        check_syntax(str(attrs["template"] or ""))
    if "job_category" in attrs and not str(attrs["job_category"] or "").strip():
        raise ValidationFailed.field("job_category", "can't be blank")
    for key in SCALARS:
        if key in attrs and attrs[key] is not None:
            setattr(template, key, attrs[key])
    user = attrs.get("effective_user_attributes")
    if user:
        for key in ("value", "overridable", "current_user"):
            if key in user and user[key] is not None:
                setattr(template, f"effective_user_{key}", user[key])
    for item in attrs.get("template_inputs_attributes") or []:
        _save_input_on(template, item)


def _save_input_on(template: JobTemplate, item: Mapping[str, Any]) -> None:
    existing = None
    if item.get("id") is not None:
        existing = next((i for i in template.inputs if i.id == item["id"]), None)
        if existing is None:
            raise ValidationFailed.field("template_inputs", f"has no input with id {item['id']}")
    elif item.get("name"):
        existing = next((i for i in template.inputs if i.name == item["name"]), None)
    if item.get("_destroy") in (True, 1, "1", "true"):
        if existing is not None:
            template.inputs.remove(existing)
        return
    spec = existing or TemplateInput()
    _assign_input(spec, item)
    if existing is None:
        template.inputs.append(spec)


def _assign_input(spec: TemplateInput, item: Mapping[str, Any]) -> None:
    for key in INPUT_FIELDS:
        if key in item and item[key] is not None:
            value = item[key]
            if key == "options" and isinstance(value, list):
                value = "\n".join(str(v) for v in value)
            setattr(spec, key, value)
    spec.input_type = spec.input_type or "user"
    _check_input(spec)


def _check_input(spec: TemplateInput) -> None:
    if not (spec.name or "").strip():
        raise ValidationFailed.field("template_inputs.name", "can't be blank")
    if spec.input_type not in INPUT_TYPES:
        raise ValidationFailed.field(
            "template_inputs.input_type", f"must be one of {', '.join(INPUT_TYPES)}")
    if spec.input_type == "fact" and not spec.fact_name:
        raise ValidationFailed.field("template_inputs.fact_name", "can't be blank for a fact input")
    if spec.input_type == "variable" and not spec.variable_name:
        raise ValidationFailed.field(
            "template_inputs.variable_name", "can't be blank for a variable input")
    options = [o for o in (spec.options or "").splitlines() if o.strip()]
    if options and spec.default not in (None, "") and spec.default not in options:
        raise ValidationFailed.field(
            "template_inputs.default", f"'{spec.default}' is not one of the options")


async def find_input(session: AsyncSession, template: JobTemplate, ref: str) -> TemplateInput:
    """Return an input of `template` by id or name, or raise NotFound."""
    for spec in template.inputs:
        if str(spec.id) == str(ref) or spec.name == str(ref):
            return spec
    raise NotFound(f"Resource template_input not found by id '{ref}'")


async def save_input(
    session: AsyncSession, *, template: JobTemplate, attrs: Mapping[str, Any],
    spec: TemplateInput | None = None,
) -> TemplateInput:
    """Create or change one input of a template."""
    if template.locked:
        raise ValidationFailed(LOCKED_MESSAGE, {"base": [LOCKED_MESSAGE]})
    name = attrs.get("name")
    if name and any(i.name == name and i is not spec for i in template.inputs):
        raise ValidationFailed.field("name", "has already been taken")
    target = spec or TemplateInput()
    _assign_input(target, attrs)
    if spec is None:
        template.inputs.append(target)
    await session.flush()
    return target


async def delete_input(session: AsyncSession, *, template: JobTemplate, spec: TemplateInput) -> None:
    """Remove one input of an unlocked template."""
    if template.locked:
        raise ValidationFailed(LOCKED_MESSAGE, {"base": [LOCKED_MESSAGE]})
    template.inputs.remove(spec)
    await session.flush()


async def list_features(session: AsyncSession, *, request: PageRequest) -> Page:
    """Return one page of remote execution features."""
    return await fetch_page(session, base=select(RemoteExecutionFeature), request=request,
                            order_by=[RemoteExecutionFeature.id])


async def find_feature(session: AsyncSession, ref: str) -> RemoteExecutionFeature:
    """Return a feature by id or label, or raise NotFound."""
    cond = RemoteExecutionFeature.label == ref
    if ref.isdigit():
        cond = (RemoteExecutionFeature.id == int(ref)) | cond
    feature = await session.scalar(select(RemoteExecutionFeature).where(cond))
    if feature is None:
        raise NotFound(f"Resource remote_execution_feature not found by id '{ref}'")
    return feature
