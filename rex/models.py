"""ORM models: the whole schema, one class per table."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Audit",
    "Base",
    "Bookmark",
    "Filter",
    "Filtering",
    "Host",
    "HostFact",
    "HostParameter",
    "HostRun",
    "JobInvocation",
    "JobInvocationInput",
    "JobTemplate",
    "KnownHostKey",
    "OutputEvent",
    "Permission",
    "PersonalAccessToken",
    "RemoteExecutionFeature",
    "Role",
    "TemplateInput",
    "UTCDateTime",
    "User",
    "UserRole",
    "utcnow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC that always comes back timezone-aware (SQLite drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class User(Timestamps, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    firstname: Mapped[str | None] = mapped_column(String(255))
    lastname: Mapped[str | None] = mapped_column(String(255))
    mail: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)

    roles: Mapped[list[Role]] = relationship(
        secondary="user_roles", order_by="Role.name", lazy="raise_on_sql"
    )


class Host(Timestamps, Base):
    __tablename__ = "hosts"
    # `name ~ web*` is an ILIKE; a trigram index keeps it off a full scan on PostgreSQL.
    __table_args__ = (
        Index(
            "ix_hosts_name_trgm", "name", postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    ip: Mapped[str | None] = mapped_column(String(255))
    comment: Mapped[str | None] = mapped_column(Text)
    operatingsystem_name: Mapped[str | None] = mapped_column(String(255))
    hostgroup_name: Mapped[str | None] = mapped_column(String(255))
    domain_name: Mapped[str | None] = mapped_column(String(255))
    organization_name: Mapped[str | None] = mapped_column(String(255))
    location_name: Mapped[str | None] = mapped_column(String(255))
    managed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    build: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    parameters: Mapped[list[HostParameter]] = relationship(
        back_populates="host", cascade="all, delete-orphan", order_by="HostParameter.id"
    )
    facts: Mapped[list[HostFact]] = relationship(
        back_populates="host", cascade="all, delete-orphan", order_by="HostFact.name"
    )


class HostParameter(Timestamps, Base):
    __tablename__ = "host_parameters"
    __table_args__ = (
        UniqueConstraint("host_id", "name"),
        # Covering (name, value, host_id): `params.k = v` is answered from the index alone.
        Index("ix_host_parameters_name_value_host_id", "name", "value", "host_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(Text)
    # As the client sent them, so it reads back what it stored (values stay text).
    parameter_type: Mapped[str] = mapped_column(String(16), default="string",
                                                server_default="string")
    hidden_value: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    host: Mapped[Host] = relationship(back_populates="parameters")


class HostFact(Base):
    __tablename__ = "host_facts"
    __table_args__ = (
        UniqueConstraint("host_id", "name"),
        Index("ix_host_facts_name_value_host_id", "name", "value", "host_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(Text)
    host: Mapped[Host] = relationship(back_populates="facts")


class KnownHostKey(Base):
    """A host key accepted on first use, keyed by `[address]:port`."""

    __tablename__ = "known_host_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(300), unique=True)
    public_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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


class JobDefinitionState(Base):
    """When a job definition (REX_JOBS_DIR) was first loaded and last fired by its schedule."""

    __tablename__ = "job_definition_states"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    first_loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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


class Permission(Timestamps, Base):
    """A Foreman permission (`view_hosts`) of one resource type (`Host`)."""

    __tablename__ = "permissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    resource_type: Mapped[str] = mapped_column(String(255))


class Role(Timestamps, Base):
    """A named set of filters; roles with an `origin` are seeded by rex and locked."""

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    builtin: Mapped[int] = mapped_column(Integer, default=0)
    origin: Mapped[str | None] = mapped_column(String(255))
    cloned_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("roles.id", ondelete="SET NULL")
    )

    filters: Mapped[list[Filter]] = relationship(
        back_populates="role", cascade="all, delete-orphan", order_by="Filter.id",
        lazy="raise_on_sql",
    )


class Filter(Timestamps, Base):
    """Permissions of one resource type granted by a role, on every row or on a search's rows."""

    __tablename__ = "filters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), index=True)
    resource_type: Mapped[str] = mapped_column(String(255))
    search: Mapped[str | None] = mapped_column(Text)
    override: Mapped[bool] = mapped_column(Boolean, default=False)

    role: Mapped[Role] = relationship(back_populates="filters", lazy="raise_on_sql")
    permissions: Mapped[list[Permission]] = relationship(
        secondary="filterings", order_by="Permission.id", lazy="raise_on_sql"
    )


class Filtering(Base):
    """One permission of a filter."""

    __tablename__ = "filterings"
    __table_args__ = (UniqueConstraint("filter_id", "permission_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filter_id: Mapped[int] = mapped_column(ForeignKey("filters.id", ondelete="CASCADE"))
    permission_id: Mapped[int] = mapped_column(
        ForeignKey("permissions.id", ondelete="CASCADE"), index=True
    )


class UserRole(Base):
    """A role given to a user."""

    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), index=True)


class PersonalAccessToken(Timestamps, Base):
    """A personal access token; only a SHA-256 digest of its secret is stored."""

    __tablename__ = "personal_access_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Audit(Base):
    """Who changed what, when: one row per created, changed or destroyed object or job action."""

    __tablename__ = "audits"
    __table_args__ = (Index("ix_audits_auditable", "auditable_type", "auditable_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    user_name: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(32))
    auditable_type: Mapped[str] = mapped_column(String(64))
    auditable_id: Mapped[int | None] = mapped_column(Integer)
    auditable_name: Mapped[str | None] = mapped_column(String(255))
    audited_changes: Mapped[str] = mapped_column(Text, default="{}")
    remote_address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Bookmark(Timestamps, Base):
    """A saved search: job invocations may target its query (re-read by dynamic jobs)."""

    __tablename__ = "bookmarks"
    __table_args__ = (UniqueConstraint("name", "controller"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    query: Mapped[str] = mapped_column(Text)
    controller: Mapped[str] = mapped_column(String(255))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
