"""The fields of a foreman-tasks search over the jobs' tasks (`resource_id = 12`, `state`...)."""

from __future__ import annotations

from sqlalchemy import literal
from sqlalchemy.sql.elements import ColumnElement

from rex.models import JobInvocation
from search import DateTimeField, FieldRegistry, IntegerField, TextField, compile_query

__all__ = ["JOB_TASK_ACTION", "JOB_TASK_LABEL", "TASK_FIELDS", "task_filter"]

JOB_TASK_LABEL = "Actions::RemoteExecution::RunHostsJob"
JOB_TASK_ACTION = "Run hosts job"

TASK_FIELDS = FieldRegistry(
    {
        "id": TextField(column=JobInvocation.task_id, default=False),
        "label": TextField(column=literal(JOB_TASK_LABEL), default=False),
        "action": TextField(column=literal(f"{JOB_TASK_ACTION}: ") + JobInvocation.description),
        "state": TextField(column=JobInvocation.state, default=False),
        "result": TextField(column=JobInvocation.result, default=False),
        "resource_type": TextField(column=literal("JobInvocation"), default=False),
        "resource_id": IntegerField(column=JobInvocation.id),
        "started_at": DateTimeField(column=JobInvocation.started_at),
        "ended_at": DateTimeField(column=JobInvocation.ended_at),
    }
)


def task_filter(query: str) -> ColumnElement[bool]:
    """Compile a task search for `select(JobInvocation).where(...)`."""
    return compile_query(query, TASK_FIELDS)
