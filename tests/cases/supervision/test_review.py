"""A case whose fixed duration of supervision has run out goes to its representative to
review, once; the product never closes it by itself."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col

from cases.kit.actor import Actor, Role
from cases.supervision.models import CaseStatus, SupervisionCase
from cases.supervision.policy import CaseRules
from cases.supervision.scan import SupervisionReviewScan
from cases.supervision.service import SupervisionService
from cases.worklist.models import WorkItem, WorkItemKind
from tests.conftest import RolledBackDatabase
from tests.factories import Region

ADMIN = Actor(Role.ADMIN, "admin:test")
TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)
MOSCOW = ZoneInfo("Europe/Moscow")


async def test_a_case_whose_duration_ran_out_is_reviewed_once(db: RolledBackDatabase) -> None:
    # given: a pulmonary embolism (12 months) opened 13 months ago, one opened 6 months ago,
    # a lifelong hypertension opened 3 years ago, and a closed embolism case
    async with db.session() as session:
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        service = SupervisionService(session, CaseRules())

        async def open_case(icd10: str, opened_on: date) -> SupervisionCase:
            patient = await region.patient(insurer)
            return await service.open(
                ADMIN,
                patient_id=patient.id,
                icd10=icd10,
                clinic_id=clinic.id,
                opened_on=opened_on,
                representative_id=representative.id,
                specialty="cardiologist" if icd10.startswith("I26") else None,
                today=TODAY,
            )

        due = await open_case("I26.9", date(2025, 10, 20))
        await open_case("I26.9", date(2026, 5, 20))
        await open_case("I10", date(2023, 11, 1))
        closed = await open_case("I26.9", date(2025, 9, 1))
        closed.status, closed.closed_on = CaseStatus.CLOSED, date(2026, 10, 1)
        closed.close_reason = "recovered"  # type: ignore[assignment]
        await session.commit()

        # when: the scan runs twice
        scan = SupervisionReviewScan(session)
        first = await scan.run(NOW, MOSCOW)
        again = await scan.run(NOW, MOSCOW, batch=1)
        await session.commit()
        items = (
            (
                await session.execute(
                    sa.select(WorkItem).where(col(WorkItem.kind) == WorkItemKind.SUPERVISION_REVIEW)
                )
            )
            .scalars()
            .all()
        )

    # then: one item, for the case that ran out, on its representative's worklist
    assert due.review_on == date(2026, 10, 20)
    assert (first, again) == (1, 1)
    assert [(item.case_id, item.owner_id) for item in items] == [(due.id, representative.id)]
    assert due.status is CaseStatus.ACTIVE
