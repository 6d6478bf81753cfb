"""/api/job_templates, /api/templates/:id/template_inputs and /api/remote_execution_features."""

from __future__ import annotations

import json

from fastapi import APIRouter, status

from api.deps import PagingDep, ReaderDep, SessionDep
from api.permissions import Allowed
from api.render import envelope, timestamp
from api.schemas import CloneBody, FeatureBody, JobTemplateBody, TemplateInputBody
from rex import features as feature_store
from rex import templates, triggers
from rex.models import JobTemplate, RemoteExecutionFeature, TemplateInput
from rex.secrets import MASK

router = APIRouter(tags=["job_templates"])


def render_input(spec: TemplateInput) -> dict:
    """Render a template input (`template_inputs/main.json.rabl`, plus advanced and value_type)."""
    return {
        "id": spec.id,
        "name": spec.name,
        "input_type": spec.input_type,
        "template_id": spec.template_id,
        "fact_name": spec.fact_name,
        "variable_name": spec.variable_name,
        "puppet_parameter_name": None,
        "puppet_class_name": None,
        "description": spec.description,
        "required": spec.required,
        "default": spec.default,
        "hidden_value": spec.hidden_value,
        "advanced": spec.advanced,
        "value_type": spec.value_type,
        "options": templates.option_list(spec.options),
    }


def render_row(template: JobTemplate) -> dict:
    """Render a job template as an index row."""
    return {
        "id": template.id,
        "name": template.name,
        "job_category": template.job_category,
        "provider_type": template.provider_type,
        "snippet": template.snippet,
        "description_format": template.description_format,
        "created_at": timestamp(template.created_at),
        "updated_at": timestamp(template.updated_at),
    }


def render_template(template: JobTemplate) -> dict:
    """Render a job template's show body."""
    return {
        **render_row(template),
        "description": template.description,
        "template": template.template,
        "locked": template.locked,
        "execution_timeout_interval": template.execution_timeout_interval,
        "cloned_from_id": None,
        "template_inputs": [render_input(i) for i in template.inputs],
        "effective_user": {
            "value": template.effective_user_value,
            "current_user": template.effective_user_current_user,
            "overridable": template.effective_user_overridable,
        },
        "locations": [],
        "organizations": [],
        "api_trigger": template.api_trigger,
        "api_key": MASK if template.api_key_hash else None,
        "api_trigger_targets": json.loads(template.api_trigger_targets)
        if template.api_trigger_targets else None,
    }


def render_feature(feature: RemoteExecutionFeature, names: dict[int, str]) -> dict:
    """Render a remote execution feature with its template's name."""
    return {
        "id": feature.id,
        "label": feature.label,
        "name": feature.name,
        "description": feature.description,
        "job_template_id": feature.job_template_id,
        "job_template_name": names.get(feature.job_template_id or 0),
        "host_action_button": feature.host_action_button,
    }


TRIGGER_FIELDS = ("api_trigger", "api_key", "api_trigger_targets")


def _attrs(body: JobTemplateBody) -> tuple[dict, dict]:
    """Split a body into the template's own fields and its API-trigger settings."""
    attrs = body.job_template.model_dump(exclude_unset=True, by_alias=True)
    return ({k: v for k, v in attrs.items() if k not in TRIGGER_FIELDS},
            {k: v for k, v in attrs.items() if k in TRIGGER_FIELDS})


@router.get("/job_templates", summary="List job templates")
async def index(session: ReaderDep, user: Allowed("view_job_templates"), paging: PagingDep) -> dict:
    page = await templates.list_templates(session, request=paging)
    return envelope(page, paging, render_row)


@router.get("/job_templates/{id}", summary="Show a job template")
async def show(id: str, session: ReaderDep, user: Allowed("view_job_templates")) -> dict:
    return render_template(await templates.find_template(session, id))


@router.post("/job_templates", status_code=status.HTTP_201_CREATED, summary="Create a job template")
async def create(
    body: JobTemplateBody, session: SessionDep, user: Allowed("create_job_templates")
) -> dict:
    attrs, trigger = _attrs(body)
    if attrs.get("locked"):
        user.require("lock_job_templates")
    template = await templates.create_template(session, attrs=attrs)
    if trigger:
        await triggers.configure(session, template, trigger, user.user)
    return render_template(template)


@router.put("/job_templates/{id}", summary="Update a job template")
async def update(
    id: str, body: JobTemplateBody, session: SessionDep, user: Allowed("edit_job_templates")
) -> dict:
    template = await templates.find_template(session, id)
    attrs, trigger = _attrs(body)
    if attrs.get("locked") is not None and bool(attrs["locked"]) != template.locked:
        user.require("lock_job_templates")
    changed = await templates.update_template(session, template=template, attrs=attrs)
    if trigger:
        await triggers.configure(session, changed, trigger, user.user)
        await session.flush()
    return render_template(changed)


@router.delete("/job_templates/{id}", summary="Delete a job template")
async def destroy(id: str, session: SessionDep, user: Allowed("destroy_job_templates")) -> dict:
    template = await templates.find_template(session, id)
    body = render_template(template)
    await templates.delete_template(session, template=template)
    return body


@router.post(
    "/job_templates/{id}/clone", status_code=status.HTTP_201_CREATED, summary="Clone a job template"
)
async def clone(
    id: str, body: CloneBody, session: SessionDep, user: Allowed("create_job_templates")
) -> dict:
    template = await templates.find_template(session, id)
    copy = await templates.clone_template(session, template=template, name=body.job_template.name)
    return render_template(copy)


@router.get("/templates/{template_id}/template_inputs", summary="List template inputs")
async def inputs(
    template_id: str, session: ReaderDep, user: Allowed("view_job_templates"), paging: PagingDep
) -> dict:
    template = await templates.find_template(session, template_id)
    page = await templates.list_inputs(session, template=template, request=paging)
    return envelope(page, paging, render_input)


@router.get("/templates/{template_id}/template_inputs/{id}", summary="Show a template input")
async def show_input(
    template_id: str, id: str, session: ReaderDep, user: Allowed("view_job_templates")
) -> dict:
    template = await templates.find_template(session, template_id)
    return render_input(await templates.find_input(session, template=template, ref=id))


@router.post(
    "/templates/{template_id}/template_inputs",
    status_code=status.HTTP_201_CREATED,
    summary="Create a template input",
)
async def create_input(
    template_id: str, body: TemplateInputBody, session: SessionDep,
    user: Allowed("edit_job_templates")
) -> dict:
    template = await templates.find_template(session, template_id)
    attrs = body.template_input.model_dump(exclude_unset=True, by_alias=True)
    return render_input(await templates.save_input(session, template=template, attrs=attrs))


@router.put("/templates/{template_id}/template_inputs/{id}", summary="Update a template input")
async def update_input(
    template_id: str, id: str, body: TemplateInputBody, session: SessionDep,
    user: Allowed("edit_job_templates")
) -> dict:
    template = await templates.find_template(session, template_id)
    spec = await templates.find_input(session, template=template, ref=id)
    attrs = body.template_input.model_dump(exclude_unset=True, by_alias=True)
    saved = await templates.save_input(session, template=template, attrs=attrs, template_input=spec)
    return render_input(saved)


@router.delete("/templates/{template_id}/template_inputs/{id}", summary="Delete a template input")
async def delete_input(
    template_id: str, id: str, session: SessionDep, user: Allowed("edit_job_templates")
) -> dict:
    template = await templates.find_template(session, template_id)
    spec = await templates.find_input(session, template=template, ref=id)
    body = render_input(spec)
    await templates.delete_input(session, template=template, template_input=spec)
    return body


@router.get("/remote_execution_features", summary="List remote execution features")
async def features(
    session: ReaderDep, user: Allowed("view_remote_execution_features"), paging: PagingDep
) -> dict:
    page = await feature_store.list_features(session, request=paging)
    names = await templates.template_names(session, (f.job_template_id for f in page.rows))
    return envelope(page, paging, lambda feature: render_feature(feature, names))


@router.get("/remote_execution_features/{id}", summary="Show a remote execution feature")
async def feature(
    id: str, session: ReaderDep, user: Allowed("view_remote_execution_features")
) -> dict:
    found = await feature_store.find_feature(session, id)
    return render_feature(found, await templates.template_names(session, [found.job_template_id]))


@router.put("/remote_execution_features/{id}", summary="Map a feature to a job template")
async def update_feature(
    id: str, body: FeatureBody, session: SessionDep,
    user: Allowed("edit_remote_execution_features")
) -> dict:
    found = await feature_store.find_feature(session, id)
    attrs = body.remote_execution_feature.model_dump(exclude_unset=True)
    found = await feature_store.update_feature(session, feature=found, attrs=attrs)
    return render_feature(found, await templates.template_names(session, [found.job_template_id]))
