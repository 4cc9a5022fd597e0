"""Work items follow what is done about them: a contact made for an item resolves it or takes it
in hand, and cases given to another representative take their open items along."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cases.kit.actor import Actor, Role
from cases.registry.models import Representative
from cases.supervision.models import SupervisionCase
from cases.supervision.service import SupervisionService
from cases.worklist.models import (
    ContactMethod,
    ContactOutcome,
    WorkItem,
    WorkItemKind,
    WorkItemStatus,
)
from cases.worklist.policy import work_item_row
from cases.worklist.service import WorkItemService
from tests.conftest import RolledBackDatabase
from tests.factories import Region, save

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ADMIN = Actor(role=Role.ADMIN, label="admin")


async def open_item(session: AsyncSession, case: SupervisionCase, owner_id: int | None) -> WorkItem:
    item = WorkItem(
        **work_item_row(
            kind=WorkItemKind.MISSED_VISIT,
            owner_id=owner_id,
            patient_id=case.patient_id,
            case_id=case.id,
            due_at=NOW,
            dedup_key=None,
            now=NOW,
        )
    )
    await save(session, item)
    return item


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (ContactOutcome.REACHED, WorkItemStatus.DONE),
        (ContactOutcome.WILL_ATTEND, WorkItemStatus.DONE),
        (ContactOutcome.NO_ANSWER, WorkItemStatus.IN_PROGRESS),
        (ContactOutcome.WRONG_NUMBER, WorkItemStatus.IN_PROGRESS),
    ],
)
async def test_a_contact_made_for_an_item_resolves_or_advances_it(
    db: RolledBackDatabase, outcome: ContactOutcome, status: WorkItemStatus
) -> None:
    async with db.session() as session:
        # given
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        case = await region.case(await region.patient(insurer), clinic, representative)
        item = await open_item(session, case, representative.id)

        # when
        await WorkItemService(session).log_contact_attempt(
            ADMIN,
            patient_id=case.patient_id,
            method=ContactMethod.CALL,
            outcome=outcome,
            note=None,
            case_id=case.id,
            work_item_id=item.id,
            representative_id=representative.id,
        )
        await session.refresh(item)

    # then
    assert item.status is status
    assert (item.resolution is not None) is (status is WorkItemStatus.DONE)


async def test_cases_reassigned_take_their_open_items_along(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        # given: a case with an open and a done item, and another representative
        region = Region(session)
        insurer, clinic, old = await region.basics()
        new = Representative(insurer_id=insurer.id, level=3, last_name="Новая", first_name="Вера")
        await save(session, new)
        case = await region.case(await region.patient(insurer), clinic, old)
        still_open = await open_item(session, case, old.id)
        done = await open_item(session, case, old.id)
        done.status = WorkItemStatus.DONE
        await save(session, done)

        # when
        assert case.id is not None
        await SupervisionService(session).assign(ADMIN, [case.id], new.id)
        await session.refresh(still_open)
        await session.refresh(done)

    # then: the open item is on the new representative's worklist; history stays
    assert (still_open.owner_id, done.owner_id) == (new.id, old.id)
