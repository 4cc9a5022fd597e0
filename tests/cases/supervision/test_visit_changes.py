"""Changes to a case's visits keep the plan honest: an appointment lies within its window, a
cancellation says why, and a new frequency re-plans the windows ahead."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from cases.kit.actor import Actor, Role
from cases.kit.errors import ValidationFailed
from cases.reminders.models import Reminder, ReminderStatus
from cases.supervision.models import Visit, VisitStatus
from cases.supervision.policy import CaseRules
from cases.supervision.service import SupervisionService
from cases.supervision.visits import VisitService
from tests.conftest import RolledBackDatabase
from tests.factories import Region

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)
RULES = CaseRules(clock=lambda: NOW)
ADMIN = Actor(role=Role.ADMIN, label="admin")
MOSCOW_NOON = timezone(timedelta(hours=3))


async def test_an_appointment_outside_the_new_window_is_refused(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        case = await region.case(await region.patient(insurer), clinic, representative)
        visit = await region.visit(case, date(2026, 12, 1))
        service = VisitService(session, RULES)

        with pytest.raises(ValidationFailed) as outside:
            await service.reschedule_visit(
                ADMIN,
                visit.id,
                date(2027, 1, 10),
                date(2027, 1, 20),
                datetime(2027, 2, 1, 10, 0, tzinfo=MOSCOW_NOON),
            )
        inside = await service.reschedule_visit(
            ADMIN,
            visit.id,
            date(2027, 1, 10),
            date(2027, 1, 20),
            datetime(2027, 1, 20, 10, 0, tzinfo=MOSCOW_NOON),
        )

    assert outside.value.field == "appointment_at"
    assert outside.value.message == "must fall within the window 2027-01-10..2027-01-20"
    assert inside.appointment_at is not None


@pytest.mark.parametrize("reason", ["", "   ", "a b", "x" * 33, "причина"])
async def test_a_cancellation_must_say_why(db: RolledBackDatabase, reason: str) -> None:
    async with db.session() as session:
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        case = await region.case(await region.patient(insurer), clinic, representative)
        visit = await region.visit(case, date(2026, 12, 1))

        with pytest.raises(ValidationFailed) as refused:
            await VisitService(session, RULES).cancel_visit(ADMIN, visit.id, reason)
    assert refused.value.field == "reason_code"


async def test_a_new_frequency_replans_the_windows_ahead_and_keeps_history(
    db: RolledBackDatabase,
) -> None:
    async with db.session() as session:
        # given: twice a year, one visit attended, the next window months ahead with reminders
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        patient = await region.patient(insurer, phone="+79161234567")
        service = SupervisionService(session, RULES)
        case = await service.open(
            ADMIN,
            patient_id=patient.id,
            icd10="I10",
            clinic_id=clinic.id,
            opened_on=date(2026, 11, 20),
            visits_per_year=2,
            representative_id=representative.id,
            today=TODAY,
        )
        attended = await region.visit(case, date(2026, 11, 21), VisitStatus.ATTENDED)
        [ahead] = (
            await session.execute(sa.select(Visit).where(Visit.status == VisitStatus.PLANNED))
        ).scalars()
        assert ahead.window_start == date(2027, 5, 20)

        # when: monthly from now on
        await service.update(ADMIN, case.id, case.version, visits_per_year=12)

        # then
        visits = (await session.execute(sa.select(Visit).order_by(Visit.id))).scalars().all()
        reminders = (await session.execute(sa.select(Reminder))).scalars().all()
    by_id = {visit.id: visit for visit in visits}
    assert by_id[attended.id].status is VisitStatus.ATTENDED
    assert (by_id[ahead.id].status, by_id[ahead.id].reason_code) == (
        VisitStatus.CANCELLED,
        "replanned",
    )
    [planned] = [visit for visit in visits if visit.status is VisitStatus.PLANNED]
    assert planned.window_start == date(2026, 12, 20)
    assert {r.status for r in reminders if r.visit_id == ahead.id} == {ReminderStatus.CANCELLED}
    assert {r.status for r in reminders if r.visit_id == planned.id} == {ReminderStatus.PENDING}
