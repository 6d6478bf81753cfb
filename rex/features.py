"""Remote execution features: named actions (such as "Run Command") that point at a job template."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rex.errors import NotFound, ValidationFailed
from rex.models import JobTemplate, RemoteExecutionFeature
from rex.paging import Page, PageRequest, search_page
from rex.refs import find_by_ref
from search import FieldRegistry, IntegerField, TextField

__all__ = ["FEATURE_FIELDS", "find_feature", "list_features", "update_feature"]

FEATURE_FIELDS = FieldRegistry({
    "label": TextField(column=RemoteExecutionFeature.label),
    "name": TextField(column=RemoteExecutionFeature.name),
    "id": IntegerField(column=RemoteExecutionFeature.id),
})  # fmt: skip


async def find_feature(session: AsyncSession, ref: str | int) -> RemoteExecutionFeature:
    """Return the feature with id or label `ref`, or raise NotFound."""
    stmt = select(RemoteExecutionFeature)
    found = await find_by_ref(session, stmt, RemoteExecutionFeature.id, RemoteExecutionFeature.label, ref)
    if found is None:
        raise NotFound(f"Resource remote_execution_feature not found by id '{ref}'")
    return found


async def list_features(session: AsyncSession, *, request: PageRequest) -> Page:
    """Return one page of remote execution features."""
    f = RemoteExecutionFeature
    columns = (f.id, f.label, f.name)
    return await search_page(session, request, select(f), FEATURE_FIELDS, columns, [f.id])


async def update_feature(
    session: AsyncSession, *, feature: RemoteExecutionFeature, attrs: Mapping[str, Any]
) -> RemoteExecutionFeature:
    """Point `feature` at another job template (or at none, with null)."""
    if "job_template_id" in attrs:
        template_id = attrs["job_template_id"]
        if template_id is not None and (
            not 0 < template_id < 2**31 or await session.get(JobTemplate, template_id) is None
        ):
            raise ValidationFailed.field("job_template_id", f"does not exist: {template_id}")
        feature.job_template_id = template_id
    await session.flush()
    return feature
