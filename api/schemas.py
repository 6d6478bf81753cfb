"""Request bodies at the API boundary; Foreman accepts bodies wrapped in the resource key or not."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["FactsBody", "HostBody", "HostIn", "HostParameterIn", "wrapped"]


def wrapped(key: str):
    """Return a before-validator that wraps a bare body in `key`, as Foreman's API does."""

    def wrap(cls, data: Any) -> Any:
        if isinstance(data, dict) and key not in data:
            return {key: data}
        return data

    return model_validator(mode="before")(classmethod(wrap))


class HostParameterIn(BaseModel):
    name: str = Field(description="Parameter name")
    value: str | int | float | bool | None = Field(default=None, description="Parameter value")
    parameter_type: str | None = Field(default=None, description="Value type (string)")
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
    host_parameters_attributes: list[HostParameterIn] | None = Field(
        default=None, description="Host parameters: [{name, value}]"
    )


class HostBody(BaseModel):
    host: HostIn
    _wrap = wrapped("host")


class FactsBody(BaseModel):
    name: str = Field(description="Host name; the host is created when missing", max_length=255)
    facts: dict[str, Any] = Field(description="Facts; replace the host's stored facts")
