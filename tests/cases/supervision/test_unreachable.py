"""A patient no channel reaches gets no reminder when a case is opened: the case's representative
gets an UNREACHABLE_CONTACT task instead."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from cases.kit.actor import Actor, Role
from cases.reminders.models import Reminder
from cases.supervision.policy import CaseRules
from cases.supervision.service import SupervisionService
from cases.worklist.models import WorkItem, WorkItemKind, WorkItemStatus
from tests.conftest import RolledBackDatabase
from tests.factories import Region

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RULES = CaseRules(clock=lambda: NOW)
ADMIN = Actor(role=Role.ADMIN, label="admin")


async def test_opening_a_case_for_an_unreachable_patient_raises_a_task(
    db: RolledBackDatabase,
) -> None:
    async with db.session() as session:
        # given: a patient with no phone, no e-mail and no postal address
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        patient = await region.patient(insurer, phone=None, email=None, postal_address=None)

        # when
        case = await SupervisionService(session, RULES).open(
            ADMIN,
            patient_id=patient.id,
            icd10="I10",
            clinic_id=clinic.id,
            opened_on=date(2026, 11, 20),
            visits_per_year=4,
            representative_id=representative.id,
        )

        # then
        items = (await session.execute(sa.select(WorkItem))).scalars().all()
        reminders = (await session.execute(sa.select(Reminder))).scalars().all()
    assert reminders == []
    assert [(i.kind, i.owner_id, i.case_id, i.status) for i in items] == [
        (WorkItemKind.UNREACHABLE_CONTACT, representative.id, case.id, WorkItemStatus.OPEN)
    ]


async def test_a_reachable_patient_gets_reminders_and_no_task(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        # given
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        patient = await region.patient(insurer, phone="+79161234567")

        # when
        await SupervisionService(session, RULES).open(
            ADMIN,
            patient_id=patient.id,
            icd10="I10",
            clinic_id=clinic.id,
            opened_on=date(2026, 11, 20),
            visits_per_year=4,
            representative_id=representative.id,
        )

        # then
        items = (await session.execute(sa.select(WorkItem))).scalars().all()
        reminders = (await session.execute(sa.select(Reminder))).scalars().all()
    assert items == []
    assert reminders != []
