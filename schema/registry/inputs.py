"""Inputs of the registry's mutations."""

from __future__ import annotations

from datetime import time

import strawberry
from strawberry import relay


@strawberry.input
class RegisterInsurerInput:
    registry_code: str = strawberry.field(description="Registry code of the СМО, e.g. VTB-MS.")
    name: str
    hotline_phone: str | None = strawberry.field(
        default=None, description="Any usual Russian written form; stored as E.164."
    )


@strawberry.input
class RegisterClinicInput:
    registry_code: str = strawberry.field(
        description="The clinic's registry code (1-16 letters or digits)."
    )
    name: str
    address: str | None = None
    time_zone: str | None = strawberry.field(
        default=None, description="IANA zone, e.g. Europe/Samara; default: the region's."
    )


@strawberry.input
class UpdateClinicInput:
    clinic_id: relay.GlobalID
    name: str | None = None
    address: str | None = strawberry.field(default=None, description="An empty string clears it.")
    time_zone: str | None = None


@strawberry.input
class RegisterRepresentativeInput:
    insurer_id: relay.GlobalID
    level: int = strawberry.field(description="1, 2 or 3.")
    last_name: str
    first_name: str
    middle_name: str | None = None
    phone: str | None = strawberry.field(default=None, description="Any usual written form.")
    email: str | None = None
    is_supervisor: bool = False
    subject: str | None = strawberry.field(
        default=None, description="The identity provider's subject of their login."
    )


@strawberry.input
class UpdateRepresentativeInput:
    representative_id: relay.GlobalID
    level: int | None = None
    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = strawberry.field(
        default=None, description="An empty string clears it."
    )
    phone: str | None = strawberry.field(default=None, description="An empty string clears it.")
    email: str | None = strawberry.field(default=None, description="An empty string clears it.")
    is_supervisor: bool | None = None


@strawberry.input
class DeskHoursInput:
    clinic_id: relay.GlobalID
    weekday: int = strawberry.field(description="0 is Monday, 6 Sunday.")
    starts_at: time = strawberry.field(description="Local time at the clinic.")
    ends_at: time


@strawberry.input
class RepresentativeFilterInput:
    insurer_id: relay.GlobalID | None = None
    level: int | None = None
    active: bool | None = None
    clinic_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Those with desk hours at this clinic."
    )
