"""Insurers, clinics and representatives, and the caller."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import ClassVar

import strawberry
from sqlmodel import SQLModel
from strawberry import relay

from cases.kit.actor import Role
from cases.registry import models as registry_models
from schema.core.objects import ModelNode, ModelObject
from schema.core.relations import every_row, one
from schema.core.relay import Connection

strawberry.enum(Role)


@strawberry.type
class Insurer(ModelNode):
    """An insurance medical organization (СМО)."""

    loader_name: ClassVar[str] = "insurer"
    model: ClassVar[type[SQLModel]] = registry_models.Insurer
    renamed: ClassVar[Mapping[str, str]] = {"registry_code": "code"}
    id: relay.NodeID[int]
    registry_code: str = strawberry.field(description="The insurer's registry code, e.g. VTB-MS.")
    name: str
    hotline_phone: str | None = strawberry.field(description="E.164, e.g. +78003332225.")
    created_at: datetime


@strawberry.type
class MedicalOrganization(ModelNode):
    """A clinic (МО)."""

    loader_name: ClassVar[str] = "clinic"
    model: ClassVar[type[SQLModel]] = registry_models.MedicalOrganization
    renamed: ClassVar[Mapping[str, str]] = {"registry_code": "code"}
    id: relay.NodeID[int]
    registry_code: str
    name: str
    address: str | None
    time_zone: str


@strawberry.type
class Representative(ModelNode):
    """An insurance representative of level 1, 2 or 3."""

    loader_name: ClassVar[str] = "representative"
    model: ClassVar[type[SQLModel]] = registry_models.Representative
    id: relay.NodeID[int]
    level: int
    last_name: str
    first_name: str
    middle_name: str | None
    phone: str | None
    email: str | None
    active: bool
    is_supervisor: bool
    subject: str | None = strawberry.field(
        description="The identity provider's subject of their login; null: they cannot sign in."
    )
    insurer_id: strawberry.Private[int]

    insurer: Insurer = one("insurer", "insurer_id", lambda: Insurer)

    desk_hours: Connection[DeskHours] = every_row(
        "desks_of_representative",
        lambda: DeskHours,
        ["id"],
        description="When they sit at a desk in a clinic, by weekday and hour.",
    )


@strawberry.type(description="Hours a representative sits at a desk in a clinic on one weekday.")
class DeskHours(ModelObject):
    model: ClassVar[type[SQLModel]] = registry_models.DeskHours
    weekday: int = strawberry.field(description="0 is Monday, 6 Sunday.")
    starts_at: time = strawberry.field(description="Local time at the clinic.")
    ends_at: time
    clinic_id: strawberry.Private[int]

    clinic: MedicalOrganization = one("clinic", "clinic_id", lambda: MedicalOrganization)


@strawberry.type
class Me:
    role: Role
    label: str
    representative_id: strawberry.Private[int | None]

    representative: Representative | None = one(
        "representative", "representative_id", lambda: Representative
    )
