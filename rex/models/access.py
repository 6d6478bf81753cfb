"""Who may do what: users, roles, filters, tokens, and the audit trail and bookmarks they leave."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rex.models.base import Base, Timestamps, UTCDateTime, utcnow

__all__ = ["Audit", "Bookmark", "Filter", "Filtering", "Permission", "PersonalAccessToken", "Role", "User", "UserRole"]


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
