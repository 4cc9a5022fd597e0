"""Inputs of the patients' queries and mutations."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry import relay

from cases.patients.models import Channel, Sex
from cases.patients.repository import PatientOrder

strawberry.enum(PatientOrder, name="PatientOrderField")


@strawberry.input
class PatientOrderInput:
    field: PatientOrder = PatientOrder.NAME
    descending: bool = False


@strawberry.input
class PatientFilterInput:
    insurer_id: relay.GlobalID | None = None
    clinic_id: relay.GlobalID | None = None
    representative_id: relay.GlobalID | None = None
    diagnosis_prefix: str | None = strawberry.field(
        default=None, description="ICD-10 prefix, e.g. I1."
    )
    has_active_case: bool | None = None


@strawberry.input
class RegisterPatientInput:
    enp: str = strawberry.field(description="ЕНП: 16 digits, the last a Luhn check digit.")
    last_name: str
    first_name: str
    middle_name: str | None = None
    birth_date: date
    sex: Sex
    insurer_id: relay.GlobalID
    snils: str | None = None
    phone: str | None = strawberry.field(
        default=None, description="Any usual written form, e.g. 8 (8652) 56-06-68."
    )
    phone_extra: str | None = None
    email: str | None = None
    postal_address: str | None = None
    time_zone: str | None = strawberry.field(
        default=None, description="IANA zone, e.g. Europe/Moscow."
    )
    attached_clinic_id: relay.GlobalID | None = None


@strawberry.input
class UpdatePatientContactsInput:
    patient_id: relay.GlobalID
    version: int = strawberry.field(description="The version the client saw.")
    phone: str | None = strawberry.UNSET
    phone_extra: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    postal_address: str | None = strawberry.UNSET
    time_zone: str | None = strawberry.UNSET


@strawberry.input
class SetNotificationConsentInput:
    patient_id: relay.GlobalID
    channel: Channel
    granted: bool
    method: str = strawberry.field(
        description="How it was given or withdrawn, e.g. 'written form'."
    )
