"""Registering an ЕНП or СНИЛС another insurer's patient holds: a conflict that says what it is
(no retry helps) and shows nothing of that patient."""

from __future__ import annotations

from datetime import date

import pytest

from cases.kit.actor import Actor, Role
from cases.kit.errors import Conflict
from cases.kit.validation import snils_check_number
from cases.patients.models import Sex
from cases.patients.service import PatientDraft, PatientService
from cases.tenancy import DataScope, bind_scope
from tests.conftest import RolledBackDatabase
from tests.factories import Region, valid_enp

SNILS = "112233445" + snils_check_number("112233445")


@pytest.mark.parametrize("taken", ["enp", "snils"])
async def test_an_identifier_of_another_insurers_patient_is_a_clear_conflict(
    db: RolledBackDatabase, taken: str
) -> None:
    async with db.session() as session:
        # given: a patient of their insurer, and a supervisor of ours, scoped to ours
        region = Region(session)
        ours, _clinic, _representative = await region.basics()
        theirs, _, _ = await region.basics()
        theirs_patient = await region.patient(theirs, snils=SNILS)
        ours_supervisor = Actor(role=Role.SUPERVISOR, label="supervisor:1", insurer_id=ours.id)
        bind_scope(session, DataScope.of(ours_supervisor))
        draft = PatientDraft(
            enp=theirs_patient.enp if taken == "enp" else valid_enp(880_001),
            snils=SNILS if taken == "snils" else None,
            last_name="Сидоров",
            first_name="Олег",
            birth_date=date(1970, 1, 2),
            sex=Sex.MALE,
            insurer_id=ours.id,
        )

        # when / then
        with pytest.raises(Conflict) as refused:
            await PatientService(session).register(ours_supervisor, draft)

    label = "ЕНП" if taken == "enp" else "СНИЛС"
    assert refused.value.field == taken
    assert refused.value.message == f"a patient with this {label} is registered already"
    assert theirs_patient.last_name not in refused.value.message
