"""Hosts, their parameters and facts, and the SSH host keys rex has seen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rex.models.base import Base, Timestamps, UTCDateTime, utcnow

__all__ = ["Host", "HostFact", "HostParameter", "KnownHostKey"]


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
