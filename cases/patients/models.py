"""Patients and their per-channel notification consents."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from cases.kit.columns import ID, UtcDateTime, enum_column, utcnow, versioned


class Sex(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"


class Channel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"
    VOICE_CALL = "voice_call"
    POST = "post"


class Patient(SQLModel, table=True):
    """A застрахованное лицо, identified by ЕНП."""

    __tablename__ = "patient"
    __table_args__ = (
        sa.Index("ix_patient_insurer_search_name", "insurer_id", "search_name"),
        sa.Index("ix_patient_search_name", "search_name"),
    )

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return versioned(cls)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    enp: str = Field(max_length=16, unique=True)
    snils: str | None = Field(default=None, max_length=11, unique=True)
    last_name: str = Field(max_length=100)
    first_name: str = Field(max_length=100)
    middle_name: str | None = Field(default=None, max_length=100)
    # Lower case, ё folded to е: the key of case-insensitive Cyrillic prefix search.
    search_name: str = Field(max_length=310)
    birth_date: date
    sex: Sex = Field(sa_type=enum_column(Sex, "sex"))
    phone: str | None = Field(default=None, max_length=16, index=True)
    phone_extra: str | None = Field(default=None, max_length=16, index=True)
    email: str | None = Field(default=None, max_length=254)
    postal_address: str | None = Field(default=None, max_length=500)
    time_zone: str = Field(default="Europe/Moscow", max_length=64)
    insurer_id: int = Field(foreign_key="insurer.id", sa_type=ID)
    attached_clinic_id: int | None = Field(
        default=None, foreign_key="medical_organization.id", index=True, sa_type=ID
    )
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class NotificationConsent(SQLModel, table=True):
    """The current consent of one patient for one channel; its history is in the audit log."""

    __tablename__ = "notification_consent"
    __table_args__ = (sa.UniqueConstraint("patient_id", "channel"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    patient_id: int = Field(foreign_key="patient.id", sa_type=ID)
    channel: Channel = Field(sa_type=enum_column(Channel, "channel"))
    granted: bool
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # How it was given or withdrawn: "written form", "sms STOP", "call", ...
    method: str = Field(max_length=100)
