"""A clinic's report of a visit lands where its date says, once: a late report reverses the miss
of the window that holds it, a repeated one changes nothing, a contradicting one is a conflict,
and reports of one visit that arrive together make one change."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from cases.audit.models import AuditEvent
from cases.kit.actor import Actor, Role
from cases.kit.errors import Conflict
from cases.patients.models import Patient
from cases.registry.models import Insurer, MedicalOrganization, Representative
from cases.reminders.models import Reminder
from cases.supervision.models import SupervisionCase, Visit, VisitStatus
from cases.supervision.policy import CaseRules
from cases.supervision.visits import VisitService
from cases.worklist.models import WorkItem, WorkItemKind, WorkItemStatus
from cases.worklist.policy import work_item_row
from core.db import create_session_factory
from tests.conftest import Database, RolledBackDatabase
from tests.factories import Region, save

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RULES = CaseRules(clock=lambda: NOW)
CLINIC = Actor(role=Role.CLINIC_SYSTEM, label="api_client:1")


async def test_a_late_report_lands_on_the_missed_window_that_holds_its_date(
    db: RolledBackDatabase,
) -> None:
    async with db.session() as session:
        # given: a missed visit with its work item, and the next visit planned
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        case = await region.case(await region.patient(insurer), clinic, representative)
        missed = await region.visit(case, date(2026, 10, 1), VisitStatus.MISSED)
        following = await region.visit(case, date(2027, 1, 1))
        item = WorkItem(
            **work_item_row(
                kind=WorkItemKind.MISSED_VISIT,
                owner_id=representative.id,
                patient_id=case.patient_id,
                case_id=case.id,
                visit_id=missed.id,
                due_at=NOW,
                dedup_key=f"missed:{missed.id}",
                now=NOW,
            )
        )
        await save(session, item)

        # when: the clinic reports, without a visit id, an attendance inside the missed window
        recorded = await VisitService(session, RULES).record_visit(
            CLINIC,
            clinic_id=clinic.id,
            external_id="MIS-1",
            case_id=case.id,
            attended=True,
            visit_date=date(2026, 9, 20),
        )
        await session.refresh(following)
        await session.refresh(item)

    # then: the miss is reversed and its item closed; the next visit is untouched
    assert recorded.id == missed.id
    assert (recorded.status, recorded.attended_on) == (VisitStatus.ATTENDED, date(2026, 9, 20))
    assert following.status is VisitStatus.PLANNED
    assert item.status is WorkItemStatus.DONE


@pytest.mark.parametrize(
    ("attended", "visit_date", "field"),
    [(False, date(2026, 11, 20), "attended"), (True, date(2026, 11, 21), "visit_date")],
)
async def test_a_report_that_contradicts_the_recorded_one_is_a_conflict(
    db: RolledBackDatabase, attended: bool, visit_date: date, field: str
) -> None:
    async with db.session() as session:
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        case = await region.case(await region.patient(insurer), clinic, representative)
        await region.visit(case, date(2026, 11, 10))
        service = VisitService(session, RULES)
        report = {"clinic_id": clinic.id, "external_id": "MIS-2", "case_id": case.id}
        first = await service.record_visit(
            CLINIC, **report, attended=True, visit_date=date(2026, 11, 20)
        )
        again = await service.record_visit(
            CLINIC, **report, attended=True, visit_date=date(2026, 11, 20)
        )

        with pytest.raises(Conflict) as contradicted:
            await service.record_visit(CLINIC, **report, attended=attended, visit_date=visit_date)

    assert again.id == first.id
    assert contradicted.value.field == field


async def test_one_report_arriving_three_times_at_once_is_one_change(
    committed_database: Database,
) -> None:
    sessions = create_session_factory(committed_database.engine)
    async with sessions() as session:
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        patient = await region.patient(insurer)
        case = await region.case(patient, clinic, representative)
        visit = await region.visit(case, date(2026, 11, 10))
        await session.commit()

    async def report() -> int | None:
        async with sessions() as session:
            recorded = await VisitService(session, RULES).record_visit(
                CLINIC,
                clinic_id=clinic.id,
                external_id="MIS-3",
                case_id=case.id,
                attended=True,
                visit_date=date(2026, 11, 20),
            )
            await session.commit()
            return recorded.id

    try:
        # when
        answers = await asyncio.wait_for(asyncio.gather(report(), report(), report()), 30)

        # then: every report answers the recorded visit; one change, one audit event
        async with sessions() as session:
            events = (
                await session.execute(
                    sa.select(AuditEvent.action).where(
                        AuditEvent.entity_type == "Visit", AuditEvent.entity_id == visit.id
                    )
                )
            ).scalars()
            assert list(answers) == [visit.id] * 3
            assert list(events) == ["visit.attended"]
    finally:
        # (audit events stay: they are never changed)
        async with sessions() as session:
            for statement in [
                sa.delete(Reminder).where(Reminder.case_id == case.id),
                sa.delete(WorkItem).where(WorkItem.case_id == case.id),
                sa.delete(Visit).where(Visit.case_id == case.id),
                sa.delete(SupervisionCase).where(SupervisionCase.id == case.id),
                sa.delete(Patient).where(Patient.id == patient.id),
                sa.delete(Representative).where(Representative.id == representative.id),
                sa.delete(MedicalOrganization).where(MedicalOrganization.id == clinic.id),
                sa.delete(Insurer).where(Insurer.id == insurer.id),
            ]:
                await session.execute(statement)
            await session.commit()
