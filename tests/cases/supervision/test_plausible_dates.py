"""Case and visit dates a person enters lie between 1900 and 2199: the extremes of the calendar
never reach the database, where PostgreSQL would keep them as ±infinity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from cases.kit.actor import Actor, Role
from cases.kit.errors import ValidationFailed
from cases.supervision.policy import CaseRules
from cases.supervision.service import SupervisionService
from cases.supervision.visits import VisitService
from tests.conftest import RolledBackDatabase
from tests.factories import Region

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ADMIN = Actor(role=Role.ADMIN, label="admin")


async def test_a_case_opened_in_1800_is_refused(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        patient = await region.patient(insurer)

        with pytest.raises(ValidationFailed) as refused:
            await SupervisionService(session, CaseRules(clock=lambda: NOW)).open(
                ADMIN,
                patient_id=patient.id,
                icd10="I10",
                clinic_id=clinic.id,
                opened_on=date(1800, 1, 1),
                representative_id=representative.id,
            )
    assert refused.value.message == "must be between 1900-01-01 and 2199-12-31"


@pytest.mark.parametrize(
    ("start", "end", "appointment"),
    [
        (date(1, 1, 1), date(1, 1, 20), None),
        (date(2026, 12, 1), date(9999, 12, 31), None),
        (
            date(2026, 12, 1),
            date(2026, 12, 20),
            datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12))),
        ),
    ],
)
async def test_a_visit_window_or_appointment_at_the_calendars_end_is_refused(
    db: RolledBackDatabase, start: date, end: date, appointment: datetime | None
) -> None:
    async with db.session() as session:
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        case = await region.case(await region.patient(insurer), clinic, representative)

        with pytest.raises(ValidationFailed) as refused:
            await VisitService(session, CaseRules(clock=lambda: NOW)).schedule_visit(
                ADMIN, case.id, start, end, appointment
            )
    assert refused.value.message == "must be between 1900-01-01 and 2199-12-31"
