"""Root query fields of patients: one by id or ЕНП, a search."""

from __future__ import annotations

import strawberry
from strawberry import relay

from cases.kit.errors import ValidationFailed
from cases.kit.paging import PageRequest
from cases.patients.repository import PatientFilter
from cases.patients.service import PatientService
from schema.core.ids import optional_row_id, row_id
from schema.core.relay import Connection, Info
from schema.patients.inputs import PatientFilterInput, PatientOrderInput
from schema.patients.types import Patient


@strawberry.type
class PatientsQuery:
    @strawberry.field(description="One patient by global id or by ЕНП.")
    async def patient(
        self, info: Info, id: relay.GlobalID | None = None, enp: str | None = None
    ) -> Patient | None:
        if (id is None) == (enp is None):
            raise ValidationFailed("give exactly one of id and enp", field="id")
        if id is not None:
            found = await info.context.loaders.patient.load(row_id(id, "Patient", "id"))
        else:
            found = await PatientService(info.context.session).by_enp(enp or "")
        return await Patient.open_card(info, found) if found else None

    @strawberry.field(
        description="Patients by name; `search` takes an ЕНП, a СНИЛС, a phone or the start of a name."
    )
    async def patients(
        self,
        info: Info,
        search: str | None = None,
        filter: PatientFilterInput | None = None,
        order_by: PatientOrderInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Patient]:
        order = order_by or PatientOrderInput()
        given = filter or PatientFilterInput()
        domain_filter = PatientFilter(
            search=search,
            insurer_id=optional_row_id(given.insurer_id, "Insurer", "filter.insurerId"),
            clinic_id=optional_row_id(given.clinic_id, "MedicalOrganization", "filter.clinicId"),
            representative_id=optional_row_id(
                given.representative_id, "Representative", "filter.representativeId"
            ),
            diagnosis_prefix=given.diagnosis_prefix,
            has_active_case=given.has_active_case,
        )
        query = PatientService(info.context.session).page_query(
            domain_filter, PageRequest.of(first, after), order.field, order.descending
        )
        return Connection.listed(info, query, Patient.from_model)
