"""Insurers, clinics and representatives, and the caller."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

import strawberry
from sqlmodel import SQLModel
from strawberry import relay

from cases.kit.actor import Role
from cases.registry import models as registry_models
from schema.core.objects import ModelNode
from schema.core.relations import one

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
    insurer_id: strawberry.Private[int]

    insurer: Insurer = one("insurer", "insurer_id", lambda: Insurer)


@strawberry.type
class Me:
    role: Role
    label: str
    representative_id: strawberry.Private[int | None]

    representative: Representative | None = one(
        "representative", "representative_id", lambda: Representative
    )
