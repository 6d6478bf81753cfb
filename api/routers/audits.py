"""/api/audits: the audit trail, searchable and paged, in Foreman's shape."""

from __future__ import annotations

import json

from fastapi import APIRouter

from api.deps import PagingDep, ReaderDep
from api.permissions import Allowed
from api.render import envelope, timestamp
from rex import audits
from rex.models import Audit

router = APIRouter(tags=["audits"])


def render_audit(audit: Audit) -> dict:
    """Render an audit row."""
    return {
        "id": audit.id, "created_at": timestamp(audit.created_at),
        "remote_address": audit.remote_address, "user_name": audit.user_name,
        "user_id": audit.user_id, "user_type": "User" if audit.user_id else None,
        "action": audit.action, "auditable_type": audit.auditable_type,
        "auditable_name": audit.auditable_name, "auditable_id": audit.auditable_id,
        "associated_type": None, "associated_name": None, "associated_id": None,
        "audited_changes": json.loads(audit.audited_changes or "{}"),
        "version": None, "comment": None, "request_uuid": None,
    }


@router.get("/audits", summary="List audits")
async def index(session: ReaderDep, user: Allowed("view_audit_logs"), paging: PagingDep) -> dict:
    page = await audits.list_audits(session, request=paging)
    return envelope(page, paging, render_audit)


@router.get("/audits/{id}", summary="Show an audit")
async def show(id: str, session: ReaderDep, user: Allowed("view_audit_logs")) -> dict:
    return render_audit(await audits.find_audit(session, id))
