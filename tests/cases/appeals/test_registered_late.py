"""An appeal registered after its registration deadline (3 days from receipt) is flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cases.appeals.models import AppealChannel, AppealKind, AppealSubject
from cases.appeals.service import AppealDraft, AppealService
from cases.kit.actor import Actor, Role
from tests.conftest import RolledBackDatabase
from tests.factories import Region

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ADMIN = Actor(role=Role.ADMIN, label="admin")


@pytest.mark.parametrize(("days_ago", "late"), [(0, False), (3, False), (4, True), (20, True)])
async def test_a_registration_after_its_deadline_is_flagged(
    db: RolledBackDatabase, days_ago: int, late: bool
) -> None:
    async with db.session() as session:
        insurer, _clinic, _representative = await Region(session).basics()
        draft = AppealDraft(
            received_at=NOW - timedelta(days=days_ago),
            channel=AppealChannel.LETTER,
            kind=AppealKind.STATEMENT,
            subject=AppealSubject.OTHER,
            text="Прошу разъяснить порядок диспансерного наблюдения.",
            insurer_id=insurer.id,
        )

        appeal = await AppealService(session).register(ADMIN, draft, now=NOW)

    assert appeal.registered_late is late
