"""/api/webhooks: where rex POSTs signed job events, and each delivery's outcome."""

from __future__ import annotations

import json

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api.deps import PagingDep, ReaderDep, RuntimeDep, SessionDep
from api.permissions import Allowed
from api.render import envelope, timestamp
from rex import audits, webhooks
from rex.models import Webhook, WebhookDelivery
from rex.paging import fetch_page, ordering
from rex.secrets import MASK
from search import FieldRegistry, IntegerField, TextField, compile_query

router = APIRouter(tags=["webhooks"])
WEBHOOK_FIELDS = FieldRegistry({
    "name": TextField(column=Webhook.name),
    "url": TextField(column=Webhook.url),
    "id": IntegerField(column=Webhook.id),
})  # fmt: skip


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, description="A name for people")
    url: str | None = Field(default=None, description="http(s) URL rex POSTs events to")
    events: list[str] | None = Field(
        default=None, description="job.completed, job.execution.completed, job.cancelled")
    secret: str | None = Field(default=None, description="Signs each body (HMAC-SHA256); write only")
    enabled: bool | None = Field(default=None, description="Send events (default true)")


def render_webhook(hook: Webhook) -> dict:
    """Render a webhook, its secret masked."""
    return {"id": hook.id, "name": hook.name, "url": hook.url, "events": json.loads(hook.events),
            "secret": MASK, "enabled": hook.enabled, "created_at": timestamp(hook.created_at),
            "updated_at": timestamp(hook.updated_at)}


def render_delivery(delivery: WebhookDelivery) -> dict:
    """Render one delivery with the body that was (or will be) sent."""
    return {"id": delivery.id, "delivery_id": delivery.delivery_id, "event": delivery.event,
            "state": delivery.state, "attempts": delivery.attempts,
            "last_status": delivery.last_status, "last_error": delivery.last_error,
            "next_attempt_at": timestamp(delivery.next_attempt_at),
            "created_at": timestamp(delivery.created_at),
            "delivered_at": timestamp(delivery.delivered_at), "body": json.loads(delivery.body)}


async def _audit(session, action: str, hook: Webhook) -> None:
    await audits.record(session, action=action, type_name="Webhook", auditable_id=hook.id,
                        name=hook.url, changes={"events": json.loads(hook.events)})


@router.get("/webhooks", summary="List webhooks")
async def index(session: ReaderDep, user: Allowed("view_webhooks"), paging: PagingDep) -> dict:
    where = compile_query(paging.search, WEBHOOK_FIELDS) if paging.search else None
    order = ordering(paging, {"id": Webhook.id, "name": Webhook.name}, [Webhook.id], Webhook.id)
    page = await fetch_page(session, base=select(Webhook), request=paging, where=where,
                            order_by=order)
    return envelope(page, paging, render_webhook)


@router.post("/webhooks", status_code=status.HTTP_201_CREATED, summary="Create a webhook")
async def create(body: WebhookIn, session: SessionDep, runtime: RuntimeDep,
                 user: Allowed("edit_webhooks")) -> dict:
    hook = await webhooks.create_webhook(session, vault=runtime.vault,
                                         attrs=body.model_dump(exclude_unset=True))
    await _audit(session, "create", hook)
    return render_webhook(hook)


@router.get("/webhooks/{id}", summary="Show a webhook")
async def show(id: str, session: ReaderDep, user: Allowed("view_webhooks")) -> dict:
    return render_webhook(await webhooks.find_webhook(session, id))


@router.put("/webhooks/{id}", summary="Change a webhook")
async def update(id: str, body: WebhookIn, session: SessionDep, runtime: RuntimeDep,
                 user: Allowed("edit_webhooks")) -> dict:
    hook = await webhooks.find_webhook(session, id)
    await webhooks.update_webhook(session, vault=runtime.vault, hook=hook,
                                  attrs=body.model_dump(exclude_unset=True))
    await _audit(session, "update", hook)
    return render_webhook(hook)


@router.delete("/webhooks/{id}", summary="Delete a webhook and its deliveries")
async def destroy(id: str, session: SessionDep, user: Allowed("edit_webhooks")) -> dict:
    hook = await webhooks.find_webhook(session, id)
    body = render_webhook(hook)
    await _audit(session, "destroy", hook)
    await session.delete(hook)
    await session.flush()
    return body


@router.get("/webhooks/{id}/deliveries", summary="List a webhook's deliveries")
async def deliveries(id: str, session: ReaderDep, user: Allowed("view_webhooks"),
                     paging: PagingDep) -> dict:
    hook = await webhooks.find_webhook(session, id)
    return envelope(await webhooks.list_deliveries(session, hook, paging), paging, render_delivery)
