"""Insurers, clinics, representatives with their desk hours, and clinic systems' API clients."""

from __future__ import annotations

from datetime import datetime, time

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cases.kit.columns import ID, UtcDateTime, utcnow


class Insurer(SQLModel, table=True):
    """A СМО: an insurance medical organization with its hotline."""

    __tablename__ = "insurer"

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    code: str = Field(max_length=16, unique=True)
    name: str = Field(max_length=200)
    hotline_phone: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class MedicalOrganization(SQLModel, table=True):
    """An МО: a clinic that supervises patients and reports their visits."""

    __tablename__ = "medical_organization"

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    code: str = Field(max_length=16, unique=True)
    name: str = Field(max_length=300)
    address: str | None = Field(default=None, max_length=500)
    time_zone: str = Field(default="Europe/Moscow", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Representative(SQLModel, table=True):
    """An insurance representative of level 1, 2 or 3, employed by one insurer."""

    __tablename__ = "representative"
    __table_args__ = (sa.CheckConstraint("level BETWEEN 1 AND 3", name="level_range"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    insurer_id: int = Field(foreign_key="insurer.id", index=True, sa_type=ID)
    level: int
    last_name: str = Field(max_length=100)
    first_name: str = Field(max_length=100)
    middle_name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=16)
    email: str | None = Field(default=None, max_length=254)
    active: bool = True
    # The subject of the caller's identity-provider token; links a login to this record.
    subject: str | None = Field(default=None, max_length=200, unique=True)
    is_supervisor: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DeskHours(SQLModel, table=True):
    """When a representative sits at a desk inside a clinic."""

    __tablename__ = "desk_hours"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint("starts_at < ends_at", name="hours_ordered"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    representative_id: int = Field(foreign_key="representative.id", index=True, sa_type=ID)
    clinic_id: int = Field(foreign_key="medical_organization.id", sa_type=ID)
    weekday: int
    starts_at: time
    ends_at: time


class ApiClient(SQLModel, table=True):
    """A clinic information system that calls the API with a key (stored hashed)."""

    __tablename__ = "api_client"

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    clinic_id: int = Field(foreign_key="medical_organization.id", index=True, sa_type=ID)
    name: str = Field(max_length=200)
    key_prefix: str = Field(max_length=16, unique=True)
    key_hash: str = Field(max_length=128)
    scopes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
