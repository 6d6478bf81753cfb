"""Jobs and their runs: invocations, plain jobs, host runs, output, recurrences."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rex.models.base import Base, Timestamps, UTCDateTime, utcnow

__all__ = ["HostRun", "Job", "JobDefinitionState", "JobInvocation", "JobInvocationInput", "OutputEvent", "RecurringLogic"]


class JobInvocation(Timestamps, Base):
    """One job: what to run (template + inputs), where (targeting), how and when.

    `state`/`result` are the task's: state scheduled|planned|running|stopped, result
    pending|success|warning|error|cancelled.
    """

    __tablename__ = "job_invocations"
    # One job per firing of a recurring logic, whoever's scheduler creates it first.
    __table_args__ = (UniqueConstraint("recurring_logic_id", "iteration"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    description: Mapped[str | None] = mapped_column(String(255))
    description_format: Mapped[str | None] = mapped_column(String(255))
    job_category: Mapped[str] = mapped_column(String(255))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("job_templates.id", ondelete="SET NULL")
    )
    template_name: Mapped[str] = mapped_column(String(255))
    feature: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    targeting_type: Mapped[str] = mapped_column(String(32), default="static_query")
    search_query: Mapped[str] = mapped_column(Text, default="")
    bookmark_id: Mapped[int | None] = mapped_column(ForeignKey("bookmarks.id", ondelete="SET NULL"))
    randomized_ordering: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ssh_user: Mapped[str | None] = mapped_column(String(255))
    effective_user: Mapped[str | None] = mapped_column(String(255))
    effective_user_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    password: Mapped[str | None] = mapped_column(Text)  # encrypted
    key_passphrase: Mapped[str | None] = mapped_column(Text)  # encrypted
    effective_user_password: Mapped[str | None] = mapped_column(Text)  # encrypted
    concurrency_level: Mapped[int | None] = mapped_column(Integer)
    execution_timeout_interval: Mapped[int | None] = mapped_column(Integer)
    time_to_pickup: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="planned", index=True)
    result: Mapped[str] = mapped_column(String(16), default="pending")
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    start_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_requested_by: Mapped[str | None] = mapped_column(String(255))
    cancel_force: Mapped[bool] = mapped_column(Boolean, default=False)
    total_hosts: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    recurring_logic_id: Mapped[int | None] = mapped_column(
        ForeignKey("recurring_logics.id", ondelete="SET NULL"), index=True
    )
    iteration: Mapped[int | None] = mapped_column(Integer)
    # A plain job's invocation (POST /api/jobs): the script runs as written, no template.
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    script: Mapped[str | None] = mapped_column(Text)
    runtime: Mapped[str | None] = mapped_column(String(16))
    # JSON {"variables": {name: value}, "secrets": [{"env", "vault_key"}]}: the script's
    # environment; secret values stay in the vault and are read when a host starts.
    environment: Mapped[str | None] = mapped_column(Text)
    # A host that failed by a non-zero exit, a timeout or being unreachable runs again, up to
    # retry_count times, after retry_delay * 2^(attempt-1) seconds.
    retry_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retry_delay: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # An unreachable host waits (pending) and is tried every REX_OFFLINE_RETRY_SECONDS until
    # offline_ttl seconds after it was first found offline; without it a scheduled firing
    # skips the host.
    queue_offline: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    offline_ttl: Mapped[int] = mapped_column(Integer, default=3600, server_default="3600")
    script_sha512: Mapped[str | None] = mapped_column(String(128))  # of `script`, set on save
    job_definition_id: Mapped[str | None] = mapped_column(String(128), index=True)  # REX_JOBS_DIR
    segments: Mapped[str | None] = mapped_column(Text)  # JSON, rex.segments (Http tasks)
    priority: Mapped[int] = mapped_column(Integer, default=5, server_default="5")  # 10 goes first
    # SHA-256 of the token a trigger answered; status and logs are read with it
    trigger_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    inputs: Mapped[list[JobInvocationInput]] = relationship(
        back_populates="job_invocation", cascade="all, delete-orphan", order_by="JobInvocationInput.id"
    )


class Job(Timestamps, Base):
    """A plain job (POST /api/jobs): a script, a runtime and targets.

    It owns one job invocation (run now) or one recurring logic whose firings are its
    invocations; deleting it deletes them and their output.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    runtime: Mapped[str] = mapped_column(String(16), default="sh")
    script: Mapped[str] = mapped_column(Text)
    targets: Mapped[str] = mapped_column(Text, default="{}")  # JSON, as given
    timeout: Mapped[int | None] = mapped_column(Integer)
    schedule: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recurring_logic_id: Mapped[int | None] = mapped_column(
        ForeignKey("recurring_logics.id", ondelete="SET NULL")
    )
    environment: Mapped[str | None] = mapped_column(Text)  # as JobInvocation.environment
    retry_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retry_delay: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    queue_offline: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    offline_ttl: Mapped[int] = mapped_column(Integer, default=3600, server_default="3600")


class JobInvocationInput(Base):
    """An input value of a job; hidden inputs are stored encrypted."""

    __tablename__ = "job_invocation_inputs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_invocation_id: Mapped[int] = mapped_column(
        ForeignKey("job_invocations.id", ondelete="CASCADE"), index=True
    )
    template_input_id: Mapped[int | None] = mapped_column(
        ForeignKey("template_inputs.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(Text)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    job_invocation: Mapped[JobInvocation] = relationship(back_populates="inputs")


class HostRun(Base):
    """One host of a job (Foreman's host template invocation plus its RunHostJob task).

    `state` queued|running|finished; `result` pending|success|error|cancelled.
    """

    __tablename__ = "host_runs"
    __table_args__ = (
        Index("ix_host_runs_claim", "state", "job_invocation_id", "position"),
        Index("ix_host_runs_job_host", "job_invocation_id", "host_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # NULL for an earlier attempt of a retried host: it hangs off the host's current run
    # (`attempt_of_id`), so every view of the job sees one run per host, its latest attempt.
    job_invocation_id: Mapped[int | None] = mapped_column(
        ForeignKey("job_invocations.id", ondelete="CASCADE")
    )
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    attempt_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("host_runs.id", ondelete="CASCADE"), index=True
    )
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a retry waits until then
    offline_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first found unreachable
    script_sha512: Mapped[str | None] = mapped_column(String(128))  # of the script it was sent
    host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id", ondelete="SET NULL"))
    host_name: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer, default=0)
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    result: Mapped[str] = mapped_column(String(16), default="pending")
    exit_status: Mapped[int | None] = mapped_column(Integer)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    effective_user: Mapped[str | None] = mapped_column(String(255))
    worker: Mapped[str | None] = mapped_column(String(255))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_seq: Mapped[int] = mapped_column(Integer, default=0)


class OutputEvent(Base):
    """One chunk of a host run's output; ordered by (host_run_id, seq)."""

    __tablename__ = "output_events"
    __table_args__ = (UniqueConstraint("host_run_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    host_run_id: Mapped[int] = mapped_column(ForeignKey("host_runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    stream: Mapped[str] = mapped_column(String(8))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    timestamp: Mapped[float] = mapped_column(Float)


class RecurringLogic(Timestamps, Base):
    """A cron recurrence; each firing is a new job invocation (`iteration` counts them).

    `state` active|disabled|finished|cancelled|failed.
    """

    __tablename__ = "recurring_logics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cron_line: Mapped[str] = mapped_column(String(255))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    max_iteration: Mapped[int | None] = mapped_column(Integer)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purpose: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="active")
    iteration: Mapped[int] = mapped_column(Integer, default=0)
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_occurrence: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_occurrence: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class JobDefinitionState(Base):
    """When a job definition (REX_JOBS_DIR) was first loaded and last fired by its schedule."""

    __tablename__ = "job_definition_states"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    first_loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
