"""Root query fields of the registry: the caller, insurers, clinics, representatives."""

from __future__ import annotations

import strawberry

from cases.kit.paging import PageRequest
from cases.registry.repository import RepresentativeFilter
from cases.registry.service import ClinicService, InsurerService
from cases.registry.staff import StaffService
from schema.core.ids import optional_row_id
from schema.core.relay import Connection, Info
from schema.registry.inputs import RepresentativeFilterInput
from schema.registry.types import Insurer, Me, MedicalOrganization, Representative


@strawberry.type
class RegistryQuery:
    @strawberry.field(description="The caller.")
    def me(self, info: Info) -> Me:
        actor = info.context.actor
        return Me(role=actor.role, label=actor.label, representative_id=actor.representative_id)

    @strawberry.field(description="Insurers of the region, by name.")
    async def insurers(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Insurer]:
        query = InsurerService(info.context.session).page_query(PageRequest.of(first, after))
        return Connection.listed(info, query, Insurer.from_model)

    @strawberry.field(description="Clinics of the region, by name.")
    async def clinics(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[MedicalOrganization]:
        query = ClinicService(info.context.session).page_query(PageRequest.of(first, after))
        return Connection.listed(info, query, MedicalOrganization.from_model)

    @strawberry.field(description="Representatives the caller may see, by name.")
    async def representatives(
        self,
        info: Info,
        filter: RepresentativeFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Representative]:
        given = filter or RepresentativeFilterInput()
        domain_filter = RepresentativeFilter(
            insurer_id=optional_row_id(given.insurer_id, "Insurer", "filter.insurerId"),
            level=given.level,
            active=given.active,
            clinic_id=optional_row_id(given.clinic_id, "MedicalOrganization", "filter.clinicId"),
        )
        query = StaffService(info.context.session).page_query(
            domain_filter, PageRequest.of(first, after)
        )
        return Connection.listed(info, query, Representative.from_model)
