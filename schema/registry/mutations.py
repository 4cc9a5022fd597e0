"""Mutations of the registry: insurers, clinics and their staff.

A supervisor manages the staff of their own insurer, the administrator anyone's; a change that
ends or alters a login (deactivation, unlinking, a new level or role) forgets the identity this
process keeps for it, so the next request is judged anew."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry
from strawberry import relay

from cases.registry.models import Representative as RepresentativeRow
from cases.registry.service import ClinicService, InsurerService
from cases.registry.staff import Desk, StaffDraft, StaffService
from schema.core.context import Context
from schema.core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from schema.core.ids import row_id
from schema.core.mutations import mutate
from schema.core.relay import Info
from schema.registry.inputs import (
    DeskHoursInput,
    RegisterClinicInput,
    RegisterInsurerInput,
    RegisterRepresentativeInput,
    UpdateClinicInput,
    UpdateRepresentativeInput,
)
from schema.registry.types import Insurer, MedicalOrganization, Representative

RegisterInsurerResult = Annotated[
    Insurer | ValidationError | ConflictError,
    strawberry.union("RegisterInsurerResult"),
]

RegisterClinicResult = Annotated[
    MedicalOrganization | ValidationError | ConflictError,
    strawberry.union("RegisterClinicResult"),
]
UpdateClinicResult = Annotated[
    MedicalOrganization | ValidationError | NotFoundError,
    strawberry.union("UpdateClinicResult"),
]
RegisterRepresentativeResult = Annotated[
    Representative | ValidationError | NotFoundError | ConflictError | PermissionDeniedError,
    strawberry.union("RegisterRepresentativeResult"),
]
UpdateRepresentativeResult = Annotated[
    Representative | ValidationError | NotFoundError,
    strawberry.union("UpdateRepresentativeResult"),
]
DeactivateRepresentativeResult = Annotated[
    Representative | ValidationError | NotFoundError,
    strawberry.union("DeactivateRepresentativeResult"),
]
LinkRepresentativeLoginResult = Annotated[
    Representative | ValidationError | NotFoundError | ConflictError,
    strawberry.union("LinkRepresentativeLoginResult"),
]
UnlinkRepresentativeLoginResult = Annotated[
    Representative | ValidationError | NotFoundError,
    strawberry.union("UnlinkRepresentativeLoginResult"),
]
SetDeskHoursResult = Annotated[
    Representative | ValidationError | NotFoundError,
    strawberry.union("SetDeskHoursResult"),
]


def _draft(input: RegisterRepresentativeInput | UpdateRepresentativeInput) -> StaffDraft:
    return StaffDraft(
        level=input.level,
        last_name=input.last_name,
        first_name=input.first_name,
        middle_name=input.middle_name,
        phone=input.phone,
        email=input.email,
        is_supervisor=input.is_supervisor,
    )


async def _staff_change(
    context: Context, change: Callable[[StaffService], Awaitable[RepresentativeRow]]
) -> RepresentativeRow:
    """A change of a representative's record; this process forgets at once the logins it ended
    or altered (the others hear of them when it commits)."""
    service = StaffService(context.session)
    changed = await change(service)
    for subject in service.changed_logins:
        context.forget_identity(subject)
    return changed


@strawberry.type
class RegistryMutation:
    @strawberry.mutation
    async def register_insurer(
        self, info: Info, input: RegisterInsurerInput
    ) -> RegisterInsurerResult:
        return await mutate(
            info,
            lambda c: InsurerService(c.session).register(
                c.actor,
                code=input.registry_code,
                name=input.name,
                hotline_phone=input.hotline_phone,
            ),
            Insurer.from_model,
            renamed={"code": "input.registryCode"},
        )

    @strawberry.mutation(description="Administrators only: register a clinic (МО).")
    async def register_clinic(self, info: Info, input: RegisterClinicInput) -> RegisterClinicResult:
        return await mutate(
            info,
            lambda c: ClinicService(c.session).register(
                c.actor,
                code=input.registry_code,
                name=input.name,
                address=input.address,
                time_zone=input.time_zone or c.rules.default_zone,
            ),
            MedicalOrganization.from_model,
            renamed={"code": "input.registryCode"},
        )

    @strawberry.mutation(description="Administrators only: change a clinic; fields left out stay.")
    async def update_clinic(self, info: Info, input: UpdateClinicInput) -> UpdateClinicResult:
        return await mutate(
            info,
            lambda c: ClinicService(c.session).update(
                c.actor,
                row_id(input.clinic_id, "MedicalOrganization", "clinic_id"),
                name=input.name,
                address=input.address,
                time_zone=input.time_zone,
            ),
            MedicalOrganization.from_model,
        )

    @strawberry.mutation(
        description="Register a representative of an insurer, with their login if known."
    )
    async def register_representative(
        self, info: Info, input: RegisterRepresentativeInput
    ) -> RegisterRepresentativeResult:
        return await mutate(
            info,
            lambda c: StaffService(c.session).register(
                c.actor,
                row_id(input.insurer_id, "Insurer", "insurer_id"),
                _draft(input),
                input.subject,
            ),
            Representative.from_model,
        )

    @strawberry.mutation(description="Change a representative's record; fields left out stay.")
    async def update_representative(
        self, info: Info, input: UpdateRepresentativeInput
    ) -> UpdateRepresentativeResult:
        return await mutate(
            info,
            lambda c: _staff_change(
                c,
                lambda staff: staff.update(
                    c.actor,
                    row_id(input.representative_id, "Representative", "representative_id"),
                    _draft(input),
                ),
            ),
            Representative.from_model,
        )

    @strawberry.mutation(
        description="No more sign-ins, from the next request on; the record, its history and its "
        "caseload stay."
    )
    async def deactivate_representative(
        self, info: Info, representative_id: relay.GlobalID
    ) -> DeactivateRepresentativeResult:
        return await mutate(
            info,
            lambda c: _staff_change(
                c,
                lambda staff: staff.deactivate(
                    c.actor, row_id(representative_id, "Representative", "representative_id")
                ),
            ),
            Representative.from_model,
        )

    @strawberry.mutation(
        description="Link a login (the identity provider's subject) to a representative."
    )
    async def link_representative_login(
        self, info: Info, representative_id: relay.GlobalID, subject: str
    ) -> LinkRepresentativeLoginResult:
        return await mutate(
            info,
            lambda c: _staff_change(
                c,
                lambda staff: staff.link(
                    c.actor,
                    row_id(representative_id, "Representative", "representative_id"),
                    subject,
                ),
            ),
            Representative.from_model,
        )

    @strawberry.mutation(description="Unlink a representative's login: they can no longer sign in.")
    async def unlink_representative_login(
        self, info: Info, representative_id: relay.GlobalID
    ) -> UnlinkRepresentativeLoginResult:
        async def unlink(staff: StaffService, c: Context) -> RepresentativeRow:
            changed, _ = await staff.unlink(
                c.actor, row_id(representative_id, "Representative", "representative_id")
            )
            return changed

        return await mutate(
            info,
            lambda c: _staff_change(c, lambda staff: unlink(staff, c)),
            Representative.from_model,
        )

    @strawberry.mutation(description="Replace a representative's desk hours at clinics.")
    async def set_desk_hours(
        self, info: Info, representative_id: relay.GlobalID, desks: list[DeskHoursInput]
    ) -> SetDeskHoursResult:
        async def change(c: Context) -> Any:
            id_ = row_id(representative_id, "Representative", "representative_id")
            await StaffService(c.session).set_desks(
                c.actor,
                id_,
                [
                    Desk(
                        clinic_id=row_id(
                            desk.clinic_id, "MedicalOrganization", f"desks.{n}.clinic_id"
                        ),
                        weekday=desk.weekday,
                        starts_at=desk.starts_at,
                        ends_at=desk.ends_at,
                    )
                    for n, desk in enumerate(desks)
                ],
            )
            return await c.loaders.representative.load(id_)

        return await mutate(info, change, Representative.from_model)
