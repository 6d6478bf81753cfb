"""The host fields of the search language: rex's `Host` columns, facts and parameters."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.sql.elements import ColumnElement

from rex.models import Host, HostFact, HostParameter
from search import (
    DateTimeField,
    FieldRegistry,
    IntegerField,
    KeyValueField,
    TextField,
    compile_query,
)

__all__ = ["HOST_FIELDS", "host_fields", "host_filter"]


def host_fields(*, shape: Literal["in", "exists"] = "in") -> FieldRegistry:
    """Build the whitelist of host search fields (SEARCH-LANGUAGE.md section 6, tier 1).

    `shape` picks the subquery form of facts/params terms; "in" is faster (bench/README.md).
    """
    return FieldRegistry(
        {
            # Free text searches these (Foreman's tier-1 default text fields).
            "name": TextField(column=Host.name),
            "comment": TextField(column=Host.comment),
            "hostgroup": TextField(column=Host.hostgroup_name),
            "os": TextField(column=Host.operatingsystem_name),
            "domain": TextField(column=Host.domain_name),
            "ip": TextField(column=Host.ip),
            # Only when named (Foreman's only_explicit).
            "location": TextField(column=Host.location_name, default=False),
            "organization": TextField(column=Host.organization_name, default=False),
            "id": IntegerField(column=Host.id),
            "created_at": DateTimeField(column=Host.created_at),
            "updated_at": DateTimeField(column=Host.updated_at),
            "facts": KeyValueField(
                owner=Host.id,
                ref=HostFact.host_id,
                key_column=HostFact.name,
                value_column=HostFact.value,
                key_after="first",
                numeric=True,
                shape=shape,
            ),
            "params": KeyValueField(
                owner=Host.id,
                ref=HostParameter.host_id,
                key_column=HostParameter.name,
                value_column=HostParameter.value,
                key_after="last",
                shape=shape,
            ),
        }
    )


HOST_FIELDS = host_fields()


def host_filter(query: str, *, now: datetime | None = None) -> ColumnElement[bool]:
    """Compile a host search query for `select(Host).where(...)`; raises SearchError."""
    return compile_query(query, HOST_FIELDS, now=now)
