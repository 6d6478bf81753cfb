"""What drives and follows jobs: the vault, webhooks and playbooks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from rex.models.base import Base, Timestamps, UTCDateTime, utcnow

__all__ = ["Playbook", "PlaybookRun", "VaultEntry", "Webhook", "WebhookDelivery"]


class VaultEntry(Timestamps, Base):
    """A secret value under a key (which may contain `/`); the value is stored encrypted."""

    __tablename__ = "vault_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    value: Mapped[str] = mapped_column(Text)  # encrypted
    description: Mapped[str | None] = mapped_column(Text)


class Webhook(Timestamps, Base):
    """Where rex POSTs job events; the secret (encrypted) signs each body."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[str] = mapped_column(Text)  # JSON list of event names
    secret: Mapped[str] = mapped_column(Text)  # encrypted
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class WebhookDelivery(Base):
    """One event for one webhook: pending until a 2xx answer, retried with backoff."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)
    event: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # the exact JSON sent (and signed)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # sending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Playbook(Timestamps, Base):
    """Ordered steps (scripts, templates, approval gates) run host by host, step by step."""

    __tablename__ = "playbooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    parameters: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    steps: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, each with its script_sha512
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class PlaybookRun(Timestamps, Base):
    """One run of a playbook: where it is, and every host's results so far (JSON).

    `state` running|waiting_approval|succeeded|failed|cancelled|rejected; `step` is the index
    of the current step; `step_jobs` the job invocation ids of the current step, by host id.
    """

    __tablename__ = "playbook_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    playbook_id: Mapped[int | None] = mapped_column(ForeignKey("playbooks.id", ondelete="SET NULL"))
    playbook_name: Mapped[str] = mapped_column(String(255))
    definition: Mapped[str] = mapped_column(Text)  # the playbook's steps when the run started
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    parameters: Mapped[str] = mapped_column(Text, default="{}")
    state: Mapped[str] = mapped_column(String(24), default="running", index=True)
    step: Mapped[int] = mapped_column(Integer, default=0)
    step_jobs: Mapped[str] = mapped_column(Text, default="{}")
    hosts: Mapped[str] = mapped_column(Text, default="{}")  # host id -> name, state, steps
    approval_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    comment: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
