"""Mutations of patients: registration, contacts, consents."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from cases.patients.service import PatientDraft, PatientService
from schema.core.context import Context
from schema.core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from schema.core.ids import optional_row_id, row_id
from schema.core.mutations import given, mutate
from schema.core.relay import Info
from schema.patients.inputs import (
    RegisterPatientInput,
    SetNotificationConsentInput,
    UpdatePatientContactsInput,
)
from schema.patients.types import NotificationConsent, Patient

RegisterPatientResult = Annotated[
    Patient | ValidationError | NotFoundError | ConflictError | PermissionDeniedError,
    strawberry.union("RegisterPatientResult"),
]
UpdatePatientContactsResult = Annotated[
    Patient | ValidationError | NotFoundError | ConflictError,
    strawberry.union("UpdatePatientContactsResult"),
]
SetNotificationConsentResult = Annotated[
    NotificationConsent | ValidationError | NotFoundError | ConflictError,
    strawberry.union("SetNotificationConsentResult"),
]


@strawberry.type
class PatientsMutation:
    @strawberry.mutation
    async def register_patient(
        self, info: Info, input: RegisterPatientInput
    ) -> RegisterPatientResult:
        async def change(c: Context) -> Any:
            draft = PatientDraft(
                enp=input.enp,
                last_name=input.last_name,
                first_name=input.first_name,
                middle_name=input.middle_name,
                birth_date=input.birth_date,
                sex=input.sex,
                insurer_id=row_id(input.insurer_id, "Insurer", "insurer_id"),
                snils=input.snils,
                phone=input.phone,
                phone_extra=input.phone_extra,
                email=input.email,
                postal_address=input.postal_address,
                time_zone=input.time_zone,
                attached_clinic_id=optional_row_id(
                    input.attached_clinic_id, "MedicalOrganization", "attached_clinic_id"
                ),
            )
            return await PatientService(c.session, c.rules).register(c.actor, draft)

        return await mutate(info, change, Patient.from_model)

    @strawberry.mutation(description="Change contact data; fields left out stay, null clears.")
    async def update_patient_contacts(
        self, info: Info, input: UpdatePatientContactsInput
    ) -> UpdatePatientContactsResult:
        changes = {
            name: getattr(input, name)
            for name in ("phone", "phone_extra", "email", "postal_address", "time_zone")
            if given(getattr(input, name))
        }

        async def change(c: Context) -> Any:
            patient_id = row_id(input.patient_id, "Patient", "patient_id")
            return await PatientService(c.session, c.rules).update_contacts(
                c.actor, patient_id, input.version, changes
            )

        return await mutate(info, change, Patient.from_model)

    @strawberry.mutation
    async def set_notification_consent(
        self, info: Info, input: SetNotificationConsentInput
    ) -> SetNotificationConsentResult:
        return await mutate(
            info,
            lambda c: PatientService(c.session, c.rules).set_consent(
                c.actor,
                row_id(input.patient_id, "Patient", "patient_id"),
                input.channel,
                input.granted,
                input.method,
            ),
            NotificationConsent.from_model,
        )
