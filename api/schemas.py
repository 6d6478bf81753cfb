"""Request bodies at the API boundary; Foreman accepts bodies wrapped in the resource key or not."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rex.refs import MAX_ID

__all__ = ["FactsBody", "HostBody", "HostIn", "HostParameterIn", "wrapped"]


# Integers stored in (or compared with) INTEGER columns: larger ones are a 422, not a 500.
DbInt = Annotated[int, Field(ge=-MAX_ID, le=MAX_ID)]


def wrapped(key: str):
    """Return a before-validator that wraps a bare body in `key`, as Foreman's API does."""

    def wrap(cls, data: Any) -> Any:
        if isinstance(data, dict) and key not in data:
            return {key: data}
        return data

    return model_validator(mode="before")(classmethod(wrap))


class HostParameterIn(BaseModel):
    name: str = Field(description="Parameter name")
    value: str | int | float | bool | list[Any] | dict[str, Any] | None = Field(
        default=None, description="Parameter value (text, or JSON of its parameter_type)"
    )
    parameter_type: str | None = Field(
        default=None,
        description="Value type: string, boolean, integer, real, array, hash, yaml or json",
    )
    hidden_value: bool | None = Field(
        default=None, description="Show the value only with show_hidden_parameters"
    )
    _destroy: bool | None = None


class HostIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, description="Host name (FQDN)", max_length=255)
    ip: str | None = Field(default=None, description="IPv4 or IPv6 address to connect to")
    comment: str | None = Field(default=None, description="Free-form comment")
    operatingsystem_name: str | None = Field(default=None, description="Operating system")
    hostgroup_name: str | None = Field(default=None, description="Host group")
    domain_name: str | None = Field(default=None, description="Domain")
    organization_name: str | None = Field(default=None, description="Organization")
    location_name: str | None = Field(default=None, description="Location")
    managed: bool | None = Field(default=None, description="Managed by Foreman (stored, echoed)")
    build: bool | None = Field(default=None, description="In build mode (stored, echoed)")
    host_parameters_attributes: list[HostParameterIn] | None = Field(
        default=None, description="Host parameters: [{name, value}]"
    )


class HostBody(BaseModel):
    host: HostIn
    _wrap = wrapped("host")


class FactsBody(BaseModel):
    name: str = Field(description="Host name; the host is created when missing", max_length=255)
    facts: dict[str, Any] = Field(description="Facts; replace the host's stored facts")


class SshIn(BaseModel):
    effective_user: str | None = Field(default=None, description="Run as this user (sudo/su/dzdo)")
    effective_user_password: str | None = Field(
        default=None, description="Password for the effective-user method (secret)"
    )


class SchedulingIn(BaseModel):
    start_at: str | None = Field(default=None, description="Start no earlier than this time")
    start_before: str | None = Field(
        default=None, description="Fail the job if it cannot start before this time"
    )


class RecurrenceIn(BaseModel):
    cron_line: str | None = Field(default=None, description="Five-field cron line")
    max_iteration: DbInt | None = Field(default=None, description="Stop after this many runs")
    end_time: str | None = Field(default=None, description="No runs after this time")
    purpose: str | None = Field(default=None, description="Unique purpose of the recurrence")


class ConcurrencyIn(BaseModel):
    concurrency_level: DbInt | None = Field(
        default=None, description="At most this many hosts of the job run at once"
    )


class JobInvocationIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_template_id: int | str | None = Field(default=None, description="Job template id or name")
    feature: str | None = Field(default=None, description="Remote execution feature label")
    targeting_type: str = Field(
        default="static_query", description="static_query or dynamic_query"
    )
    search_query: str | None = Field(default=None, description="Host search query")
    host_ids: list[int | str] | str | None = Field(
        default=None, description="Host ids or names (or a search query)"
    )
    bookmark_id: DbInt | None = Field(
        default=None, description="Target the query of this bookmark (not with search_query)"
    )
    randomized_ordering: bool = Field(default=False, description="Run hosts in random order")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Template input values")
    ssh: SshIn | None = Field(default=None, description="Effective user and its password")
    ssh_user: str | None = Field(default=None, description="SSH user (default: host or setting)")
    password: str | None = Field(default=None, description="SSH password (secret)")
    key_passphrase: str | None = Field(default=None, description="SSH key passphrase (secret)")
    concurrency_control: ConcurrencyIn | None = Field(default=None, description="Concurrency")
    execution_timeout_interval: DbInt | None = Field(
        default=None, description="Seconds before a host's run is stopped"
    )
    time_to_pickup: DbInt | None = Field(
        default=None, description="Seconds a host may wait for a worker before it fails"
    )
    description_format: str | None = Field(default=None, description="Job description format")
    scheduling: SchedulingIn | None = Field(default=None, description="Future execution")
    recurrence: RecurrenceIn | None = Field(default=None, description="Recurring execution")
    dry_run: bool | None = Field(
        default=None, description="Answer 200 with each host's rendered script; run nothing"
    )


class JobInvocationBody(BaseModel):
    job_invocation: JobInvocationIn
    _wrap = wrapped("job_invocation")


class OutputsQuery(BaseModel):
    search_query: str | None = Field(default=None, description="Host search among the job's hosts")
    since: float | str | None = Field(default=None, description="Only lines after this timestamp")
    raw: bool | None = Field(default=False, description="Concatenate the output into one string")


class CancelIn(BaseModel):
    force: bool | None = Field(default=False, description="Stop waiting for the hosts at once")
    search: str | None = Field(default=None, description="Cancel only the matching hosts")


class RerunIn(BaseModel):
    failed_only: bool | None = Field(default=False, description="Rerun only the failed hosts")
    succeeded_only: bool | None = Field(
        default=False, description="Rerun only the succeeded hosts"
    )


class EffectiveUserIn(BaseModel):
    value: str | None = Field(default=None, description="Effective user")
    overridable: bool | None = Field(default=None, description="Jobs may override it")
    current_user: bool | None = Field(default=None, description="Use the invoking user")


class TemplateInputIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: DbInt | None = Field(default=None, description="Id of an existing input (update)")
    name: str | None = Field(default=None, description="Input name", max_length=255)
    input_type: str | None = Field(default=None, description="user, fact or variable")
    fact_name: str | None = Field(default=None, description="Fact of a fact input")
    variable_name: str | None = Field(default=None, description="Parameter of a variable input")
    required: bool | None = Field(default=None, description="A value must be given")
    advanced: bool | None = Field(default=None, description="Shown as advanced")
    default: str | int | float | None = Field(default=None, description="Default value")
    options: str | list[str | int | float] | None = Field(
        default=None, description="Allowed values: a list, or one per line"
    )
    value_type: str | None = Field(default=None, description="plain, search, date, resource")
    hidden_value: bool | None = Field(default=None, description="Mask the value everywhere")
    description: str | None = Field(default=None, description="Description")
    destroy: bool | None = Field(default=None, alias="_destroy", description="Remove the input")


class JobTemplateIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, description="Template name", max_length=255)
    description: str | None = Field(default=None, description="Description")
    job_category: str | None = Field(default=None, description="Job category", max_length=255)
    description_format: str | None = Field(default=None, description="Job description format",
                                           max_length=255)
    template: str | None = Field(default=None, description="Jinja2 template body")
    provider_type: str | None = Field(default=None, description="SSH or script")
    snippet: bool | None = Field(default=None, description="Is a snippet")
    locked: bool | None = Field(default=None, description="Locked against changes")
    execution_timeout_interval: DbInt | None = Field(default=None, description="Timeout (s)")
    effective_user_attributes: EffectiveUserIn | None = Field(default=None,
                                                              description="Effective user")
    template_inputs_attributes: list[TemplateInputIn] | None = Field(
        default=None, description="Inputs: by id or name; _destroy removes one"
    )
    audit_comment: str | None = Field(default=None, description="Accepted and ignored")
    api_trigger: bool | None = Field(
        default=None, description="May be run with /api/jobs/trigger (as the user enabling it)")
    api_key: str | None = Field(default=None, description="Key of /api/jobs/trigger (write only)")
    api_trigger_targets: dict[str, Any] | None = Field(
        default=None, description="Targets object of triggered jobs (hosts, tag, group, os, ...)")
    location_ids: list[int | str] | None = Field(default=None, description="Accepted and ignored")
    organization_ids: list[int | str] | None = Field(
        default=None, description="Accepted and ignored"
    )

    @field_validator("template_inputs_attributes", mode="before")
    @classmethod
    def _rails_hash(cls, value: Any) -> Any:
        """Accept Rails' hash form of nested attributes (`{"0": {...}}`) as well as a list."""
        return list(value.values()) if isinstance(value, dict) else value


class JobTemplateBody(BaseModel):
    job_template: JobTemplateIn
    _wrap = wrapped("job_template")


class TemplateInputBody(BaseModel):
    template_input: TemplateInputIn
    _wrap = wrapped("template_input")


class CloneIn(BaseModel):
    name: str = Field(description="Name of the copy", max_length=255)


class CloneBody(BaseModel):
    job_template: CloneIn
    _wrap = wrapped("job_template")


class FeatureIn(BaseModel):
    job_template_id: DbInt | None = Field(default=None, description="Template the feature runs")


class FeatureBody(BaseModel):
    remote_execution_feature: FeatureIn
    _wrap = wrapped("remote_execution_feature")


class BookmarkIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, description="Bookmark name", max_length=255)
    query: str | None = Field(default=None, description="The saved search query")
    controller: str | None = Field(
        default=None, description="What the query searches: hosts (or dashboard) for jobs"
    )
    public: bool | None = Field(default=None, description="Visible to every user")


class BookmarkBody(BaseModel):
    bookmark: BookmarkIn
    _wrap = wrapped("bookmark")


class PlainJobIn(BaseModel):
    """POST /api/jobs: a script, its runtime and its targets (rex's plain jobs API)."""

    model_config = ConfigDict(extra="allow")

    name: str | None = Field(default=None, description="Job name")
    runtime: str | None = Field(default=None, description="bash, sh (default), python or pwsh")
    script: str | None = Field(default=None, description="The script, run as written")
    targets: dict[str, Any] | None = Field(
        default=None, description="hosts (ids or names), tag, group, os, search or all"
    )
    timeout: DbInt | None = Field(default=None, description="Seconds before a host is stopped")
    schedule: str | None = Field(default=None, description="Cron line: run on each firing")
    retry_count: DbInt | None = Field(default=None, description="Retries of a failed host (0-5)")
    retry_delay: DbInt | None = Field(default=None, description="Seconds before the first retry")
    queue_offline: bool | None = Field(default=None, description="Wait for offline hosts")
    offline_ttl: DbInt | None = Field(default=None, description="Seconds to wait for them")
    variables: dict[str, Any] | None = Field(default=None, description="Environment variables")
    secrets: list[dict[str, Any]] | None = Field(default=None, description="Vault secrets")
    dry_run: bool | None = Field(default=None, description="Answer what would run; run nothing")
