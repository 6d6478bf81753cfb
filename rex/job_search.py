"""The job-invocation fields of the search language: id, description, category, status, host."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, not_, select
from sqlalchemy.sql.elements import ColumnElement

from rex.models import HostRun, JobInvocation
from search import DateTimeField, FieldRegistry, IntegerField, SearchError, TextField, compile_query
from search.fields import Cond, Field, Use

__all__ = ["JOB_FIELDS", "job_filter"]

_STATUS = {
    "queued": JobInvocation.state == "scheduled",
    "running": JobInvocation.state.in_(("planned", "running")),
    "succeeded": and_(JobInvocation.state == "stopped", JobInvocation.result == "success"),
    "failed": and_(JobInvocation.state == "stopped", JobInvocation.result.in_(("error", "warning"))),
    "cancelled": and_(JobInvocation.state == "stopped", JobInvocation.result == "cancelled"),
}


@dataclass(frozen=True, eq=False)
class StatusField(Field):
    """`status = failed`: Foreman's status labels, `=` and `!=` only, named explicitly."""

    def compare(self, op: str, value, use: Use) -> Cond:
        """Compile `status = label` / `status != label`."""
        if op not in ("=", "!="):
            raise self.unsupported(op, use.column)
        sql = _STATUS.get(value.text.lower())
        if sql is None:
            raise SearchError(
                f"Value '{value.text}' is not valid for field 'status': use one of "
                + ", ".join(_STATUS),
                value.column,
                kind="bad_value",
            )
        return Cond(not_(sql) if op == "!=" else sql, False)


@dataclass(frozen=True, eq=False)
class HostNameField(Field):
    """`host = web1`: jobs that ran (or will run) on a host of that name."""

    def compare(self, op: str, value, use: Use) -> Cond:
        """Compile a test on the names of the job's hosts."""
        inner = TextField(column=HostRun.host_name).compare(op, value, use).sql
        return Cond(exists(select(1).where(HostRun.job_invocation_id == JobInvocation.id, inner)), False)


JOB_FIELDS = FieldRegistry(
    {
        "id": IntegerField(column=JobInvocation.id),
        "description": TextField(column=JobInvocation.description),
        "job_category": TextField(column=JobInvocation.job_category),
        "status": StatusField(),
        "host": HostNameField(),
        "started_at": DateTimeField(column=JobInvocation.started_at),
        "start_at": DateTimeField(column=JobInvocation.start_at),
        "ended_at": DateTimeField(column=JobInvocation.ended_at),
    }
)


def job_filter(query: str, *, now: datetime | None = None) -> ColumnElement[bool]:
    """Compile a job-invocation search for `select(JobInvocation).where(...)`."""
    return compile_query(query, JOB_FIELDS, now=now)

