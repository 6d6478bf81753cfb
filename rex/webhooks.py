"""Webhooks: rex POSTs signed JSON events about jobs to URLs that subscribed to them.

An event becomes one delivery row per subscribed webhook, written in the same transaction
as the change it reports, so none is lost. A background loop in every rex process sends due
deliveries (claimed with a lease, so two processes never send the same one), retries
failures with backoff and records each answer. Jobs never wait for a receiver.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rex.errors import NotFound, ValidationFailed
from rex.models import HostRun, JobInvocation, Webhook, WebhookDelivery
from rex.paging import Page, PageRequest, fetch_page, ordering
from rex.refs import as_id
from rex.runtime import Runtime
from rex.secrets import Vault
from search import FieldRegistry, IntegerField, TextField, compile_query

__all__ = ["EVENTS", "create_webhook", "deliver_due", "execution_events", "find_webhook",
           "job_event", "list_deliveries", "update_webhook"]

log = logging.getLogger("rex.webhooks")

EVENTS = ("job.completed", "job.execution.completed", "job.cancelled")
DELIVERY_FIELDS = FieldRegistry({
    "event": TextField(column=WebhookDelivery.event),
    "state": TextField(column=WebhookDelivery.state),
    "id": IntegerField(column=WebhookDelivery.id),
})  # fmt: skip
MAX_DELAY = 3600.0


# ---- webhooks -----------------------------------------------------------------------------


def _check(attrs: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "url" in attrs or creating:
        url = attrs.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationFailed.field("url", "must be an http:// or https:// URL")
        values["url"] = url
    if "events" in attrs or creating:
        events = attrs.get("events")
        if not isinstance(events, list) or not events:
            raise ValidationFailed.field("events", f"must be a list of {', '.join(EVENTS)}")
        unknown = [e for e in events if e not in EVENTS]
        if unknown:
            raise ValidationFailed.field("events", f"unknown event {unknown[0]!r}; use "
                                         f"{', '.join(EVENTS)}")
        values["events"] = json.dumps(sorted(set(events)))
    if "secret" in attrs or creating:
        secret = attrs.get("secret")
        if not isinstance(secret, str) or len(secret) < 8:
            raise ValidationFailed.field("secret", "must be at least 8 characters (it signs "
                                         "every body)")
        values["secret"] = secret
    for key in ("name", "enabled"):
        if key in attrs:
            values[key] = attrs[key]
    return values


async def create_webhook(session: AsyncSession, *, vault: Vault, attrs: Mapping[str, Any]) -> Webhook:
    """Store a webhook; 422 for a bad URL, an unknown event or a missing secret."""
    values = _check(attrs, creating=True)
    values["secret"] = vault.encrypt(values["secret"])
    hook = Webhook(**values)
    session.add(hook)
    await session.flush()
    return hook


async def update_webhook(session: AsyncSession, *, vault: Vault, hook: Webhook,
                         attrs: Mapping[str, Any]) -> Webhook:
    """Change a webhook's fields (those given)."""
    values = _check(attrs, creating=False)
    if "secret" in values:
        values["secret"] = vault.encrypt(values["secret"])
    for key, value in values.items():
        setattr(hook, key, value)
    await session.flush()
    return hook


async def find_webhook(session: AsyncSession, ref: str | int) -> Webhook:
    """Return the webhook with id `ref`, or 404."""
    hook_id = as_id(str(ref))
    hook = await session.get(Webhook, hook_id) if hook_id is not None else None
    if hook is None:
        raise NotFound(f"Resource webhook not found by id '{ref}'")
    return hook


async def list_deliveries(session: AsyncSession, hook: Webhook, request: PageRequest) -> Page:
    """Return one page of a webhook's deliveries, newest first."""
    base = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
    where = compile_query(request.search, DELIVERY_FIELDS) if request.search else None
    order = ordering(request, {"id": WebhookDelivery.id, "event": WebhookDelivery.event},
                     [WebhookDelivery.id.desc()], WebhookDelivery.id)
    return await fetch_page(session, base=base, request=request, where=where, order_by=order)


# ---- events -------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


async def _enqueue(session: AsyncSession, event: str, payloads: list[dict], now: datetime) -> None:
    """Write one delivery per payload for every enabled webhook subscribed to `event`."""
    if not payloads:
        return
    hooks = [h for h in (await session.scalars(select(Webhook).where(Webhook.enabled))).all()
             if event in json.loads(h.events)]
    rows = []
    for hook in hooks:
        for payload in payloads:
            delivery_id = str(uuid.uuid4())
            body = json.dumps({"event": event, "delivery_id": delivery_id, **payload,
                               "timestamp": _time(now)}, sort_keys=True)
            rows.append({"webhook_id": hook.id, "delivery_id": delivery_id, "event": event,
                         "body": body, "state": "pending", "attempts": 0,
                         "next_attempt_at": now, "created_at": now})
    if rows:
        await session.execute(insert(WebhookDelivery), rows)


async def job_event(session: AsyncSession, job: JobInvocation, *, now: datetime) -> None:
    """Report a job that stopped: `job.cancelled` when a user cancelled it, else `job.completed`."""
    from rex.invocations import STATUS_LABELS, host_counts, job_status

    counts = (await host_counts(session, [job.id]))[job.id]
    event = "job.cancelled" if job.cancel_requested_by or job.result == "cancelled" else "job.completed"
    payload = {"job": {
        "id": job.id, "plain_job_id": job.job_id, "description": job.description,
        "status": STATUS_LABELS[job_status(job)], "result": job.result,
        "template_name": job.template_name, "started_at": _time(job.started_at),
        "ended_at": _time(job.ended_at), "total_hosts": job.total_hosts,
        "succeeded": counts.get("success", 0),
        "failed": sum(n for r, n in counts.items() if r not in ("success", "cancelled")),
        "cancelled": counts.get("cancelled", 0), "cancelled_by": job.cancel_requested_by,
    }}
    await _enqueue(session, event, [payload], now)


async def execution_events(session: AsyncSession, run_ids: list[int], *, now: datetime) -> None:
    """Report host runs that ended for good (not those queued again for a retry)."""
    if not run_ids or not await _subscribed(session, "job.execution.completed"):
        return
    runs = (await session.scalars(select(HostRun).where(
        HostRun.id.in_(run_ids), HostRun.state == "finished"))).all()
    payloads = [{"execution": {
        "invocation_id": run.job_invocation_id, "host_id": run.host_id,
        "host_name": run.host_name, "attempt": run.attempt, "result": run.result,
        "exit_code": run.exit_status, "error_kind": run.error_kind,
        "started_at": _time(run.started_at), "finished_at": _time(run.finished_at),
    }} for run in runs]
    await _enqueue(session, "job.execution.completed", payloads, now)


async def _subscribed(session: AsyncSession, event: str) -> bool:
    events = (await session.scalars(select(Webhook.events).where(Webhook.enabled))).all()
    return any(event in json.loads(e) for e in events)


# ---- delivery -----------------------------------------------------------------------------


def signature(secret: str, body: bytes) -> str:
    """Return the X-Rex-Signature value of `body`: `sha256=<hex HMAC-SHA256>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def _claim(runtime: Runtime, limit: int) -> list[tuple[WebhookDelivery, str, str]]:
    now = runtime.clock()
    lease = now + timedelta(seconds=runtime.settings.webhook_timeout * 2 + 5)
    async with runtime.db.unit_of_work() as session:
        due = (await session.scalars(
            select(WebhookDelivery)
            .where(or_(WebhookDelivery.state == "pending",
                       (WebhookDelivery.state == "sending") & (WebhookDelivery.lease_until < now)),
                   WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at).limit(limit)
            .with_for_update(skip_locked=True))).all()
        if not due:
            return []
        await session.execute(update(WebhookDelivery).where(
            WebhookDelivery.id.in_([d.id for d in due])).values(state="sending", lease_until=lease))
        hooks = {h.id: h for h in (await session.scalars(
            select(Webhook).where(Webhook.id.in_({d.webhook_id for d in due})))).all()}
        return [(d, hooks[d.webhook_id].url, runtime.vault.decrypt(hooks[d.webhook_id].secret))
                for d in due]


async def _send(runtime: Runtime, client: httpx.AsyncClient, delivery: WebhookDelivery,
                url: str, secret: str) -> None:
    body = delivery.body.encode()
    status, error = None, None
    try:
        answer = await client.post(url, content=body, headers={
            "Content-Type": "application/json", "User-Agent": "rex-webhooks",
            "X-Rex-Event": delivery.event, "X-Rex-Delivery": delivery.delivery_id,
            "X-Rex-Signature": signature(secret, body)})
        status = answer.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    now = runtime.clock()
    attempts = delivery.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "last_status": status, "last_error": error,
                              "lease_until": None}
    if error is None:
        values.update(state="delivered", delivered_at=now)
    elif attempts >= runtime.settings.webhook_attempts:
        values.update(state="failed")
        log.warning("webhook delivery %s to %s failed for good: %s", delivery.delivery_id, url,
                    error)
    else:
        delay = min(runtime.settings.webhook_retry_seconds * 2 ** (attempts - 1), MAX_DELAY)
        values.update(state="pending", next_attempt_at=now + timedelta(seconds=delay))
    async with runtime.db.unit_of_work() as session:
        await session.execute(update(WebhookDelivery)
                              .where(WebhookDelivery.id == delivery.id).values(**values))


async def deliver_due(runtime: Runtime, client: httpx.AsyncClient, *, limit: int = 50) -> int:
    """Send every due delivery (at most `limit`) concurrently; return how many were sent."""
    claimed = await _claim(runtime, limit)
    await asyncio.gather(*(_send(runtime, client, d, url, secret) for d, url, secret in claimed))
    return len(claimed)


async def deliver_forever(runtime: Runtime, interval: float) -> None:
    """The delivery loop of a rex process: slow receivers only hold up their own deliveries."""
    async with httpx.AsyncClient(timeout=runtime.settings.webhook_timeout,
                                 follow_redirects=False) as client:
        inflight: set[asyncio.Task] = set()
        try:
            while True:
                if len(inflight) < 4:
                    task = asyncio.create_task(_guarded(deliver_due(runtime, client)))
                    inflight.add(task)
                    task.add_done_callback(inflight.discard)
                await asyncio.sleep(interval)
        finally:
            for task in inflight:
                task.cancel()
            await asyncio.gather(*inflight, return_exceptions=True)


async def _guarded(work) -> None:
    try:
        await work
    except Exception:
        log.exception("webhook delivery failed")
