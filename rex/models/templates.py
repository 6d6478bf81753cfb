"""Job templates, their inputs and the remote execution features that point at them."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rex.models.base import Base, Timestamps

__all__ = ["JobTemplate", "RemoteExecutionFeature", "TemplateInput"]


class JobTemplate(Timestamps, Base):
    __tablename__ = "job_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    template: Mapped[str] = mapped_column(Text, default="")
    job_category: Mapped[str] = mapped_column(String(255), default="Commands")
    provider_type: Mapped[str] = mapped_column(String(255), default="SSH")
    description_format: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    execution_timeout_interval: Mapped[int | None] = mapped_column(Integer)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    snippet: Mapped[bool] = mapped_column(Boolean, default=False)
    effective_user_value: Mapped[str | None] = mapped_column(String(255))
    effective_user_overridable: Mapped[bool] = mapped_column(Boolean, default=True)
    effective_user_current_user: Mapped[bool] = mapped_column(Boolean, default=False)
    template_sha512: Mapped[str | None] = mapped_column(String(128))  # of `template`, set on save
    # API triggering (GET|POST /api/jobs/trigger): run as the user who enabled it
    api_trigger: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    api_key_hash: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of the key
    api_trigger_targets: Mapped[str | None] = mapped_column(Text)  # JSON targets object
    api_trigger_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    inputs: Mapped[list[TemplateInput]] = relationship(
        back_populates="template", cascade="all, delete-orphan", order_by="TemplateInput.id"
    )


class TemplateInput(Timestamps, Base):
    __tablename__ = "template_inputs"
    __table_args__ = (UniqueConstraint("template_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("job_templates.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    input_type: Mapped[str] = mapped_column(String(32), default="user")
    fact_name: Mapped[str | None] = mapped_column(String(255))
    variable_name: Mapped[str | None] = mapped_column(String(255))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    advanced: Mapped[bool] = mapped_column(Boolean, default=False)
    default: Mapped[str | None] = mapped_column(Text)
    options: Mapped[str | None] = mapped_column(Text)
    value_type: Mapped[str] = mapped_column(String(32), default="plain")
    hidden_value: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    template: Mapped[JobTemplate] = relationship(back_populates="inputs")


class RemoteExecutionFeature(Base):
    __tablename__ = "remote_execution_features"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    job_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("job_templates.id", ondelete="SET NULL")
    )
    host_action_button: Mapped[bool] = mapped_column(Boolean, default=False)
