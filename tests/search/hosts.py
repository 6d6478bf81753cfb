"""A small inventory whose rows exercise every search rule, and a helper to run queries on it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from rex.db import Database
from rex.host_search import HOST_FIELDS
from rex.models import Host, HostFact, HostParameter
from search import FieldRegistry, compile_query

NOW = datetime(2025, 6, 18, 12, 0, tzinfo=UTC)

# name: (id, host columns, created_at, facts, params)
INVENTORY: dict[str, tuple[int, dict, datetime, dict, dict]] = {
    "web01.example.com": (
        1,
        {
            "ip": "10.0.0.1",
            "comment": "Primary web server",
            "operatingsystem_name": "RedHat",
            "hostgroup_name": "web",
            "domain_name": "example.com",
            "organization_name": "ACME",
            "location_name": "Europe/London",
        },
        datetime(2025, 6, 16, 10, 0, tzinfo=UTC),
        {"osfamily": "RedHat", "cpus": "16", "os::release::major": "9"},
        {"env": "prod", "tier": "1"},
    ),
    "web02.example.com": (
        2,
        {
            "ip": "10.0.0.2",
            "comment": "web server",
            "operatingsystem_name": "Ubuntu",
            "hostgroup_name": "web",
            "domain_name": "example.com",
            "organization_name": "ACME",
            "location_name": "Europe/Paris",
        },
        datetime(2025, 6, 17, 8, 0, tzinfo=UTC),
        {"osfamily": "Debian", "cpus": "4"},
        {"env": "staging", "tier": "10"},
    ),
    "db01.example.com": (
        3,
        {"ip": "10.0.1.1", "hostgroup_name": "db", "domain_name": "example.com"},
        datetime(2024, 1, 15, 9, 30, tzinfo=UTC),
        {"osfamily": "Debian", "cpus": "4.0"},
        {"env": "prod", "flag": "false"},
    ),
    "db02.example.org": (
        4,
        {"comment": "", "operatingsystem_name": "RedHat", "domain_name": "example.org"},
        datetime(2023, 11, 30, 23, 59, 59, tzinfo=UTC),
        {"osfamily": None, "cpus": " 4"},
        {},
    ),
    "Web_Server.lab": (
        5,
        {
            "ip": "10.0.2.5",
            "comment": "Don't touch C:\\temp",
            "operatingsystem_name": "Debian",
            "hostgroup_name": "base/web",
            "domain_name": "lab",
        },
        datetime(2025, 6, 18, 11, 0, tzinfo=UTC),
        {"osfamily": "Debian", "cpus": "-3"},
        {"tier": "2"},
    ),
    "mail.example.com": (
        6,
        {
            "ip": "192.168.1.50",
            "comment": "50% done",
            "operatingsystem_name": "Ubuntu",
            "domain_name": "example.com",
        },
        datetime(2025, 6, 18, 0, 0, tzinfo=UTC),
        {"cpus": "abc"},
        {"env": "PROD"},
    ),
}

ALL = frozenset(INVENTORY)


async def seed(database: Database) -> None:
    """Insert the inventory."""
    async with database.unit_of_work() as session:
        for name, (host_id, columns, created, facts, params) in INVENTORY.items():
            host = Host(id=host_id, name=name, created_at=created, updated_at=created, **columns)
            host.facts = [HostFact(name=k, value=v) for k, v in facts.items()]
            host.parameters = [HostParameter(name=k, value=v) for k, v in params.items()]
            session.add(host)


async def matching(
    database: Database, query: str, registry: FieldRegistry = HOST_FIELDS
) -> set[str]:
    """Return the names of the hosts a query selects."""
    where = compile_query(query, registry, now=NOW)
    async with database.reader() as session:
        return set(await session.scalars(select(Host.name).where(where)))


def but(*names: str) -> set[str]:
    """Every host except `names`."""
    return set(ALL - set(names))
