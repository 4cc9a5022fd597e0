""" "Today" is the region's date, never the server's: checks of dates against today use the zone
of the deployment's region and its clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from cases.kit.actor import Actor, Role
from cases.kit.errors import ValidationFailed
from cases.supervision.models import CaseStatus, CloseReason
from cases.supervision.policy import CaseRules
from cases.supervision.service import SupervisionService
from tests.conftest import RolledBackDatabase
from tests.factories import Region

# 22:30 UTC on 30 June is already 1 July in Moscow (UTC+3) and still 30 June in London; the year
# lies ahead of any server clock, so a check against the server's date would refuse it.
LATE_EVENING_UTC = datetime(2030, 6, 30, 22, 30, tzinfo=UTC)
ADMIN = Actor(role=Role.ADMIN, label="admin")


def at(instant: datetime, zone: str = "Europe/Moscow") -> CaseRules:
    return CaseRules(default_zone=zone, clock=lambda: instant)


def test_today_is_the_regions_date() -> None:
    assert at(LATE_EVENING_UTC).today() == date(2030, 7, 1)
    assert at(LATE_EVENING_UTC, "Europe/London").today() == date(2030, 6, 30)
    assert at(LATE_EVENING_UTC, "Asia/Vladivostok").today() == date(2030, 7, 1)


async def test_a_case_closes_on_the_regions_today_though_utc_is_a_day_behind(
    db: RolledBackDatabase,
) -> None:
    async with db.session() as session:
        # given
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        case = await region.case(
            await region.patient(insurer), clinic, representative, opened_on=date(2026, 1, 10)
        )
        service = SupervisionService(session, at(LATE_EVENING_UTC))

        # when
        closed = await service.close(
            ADMIN, case.id, case.version, CloseReason.RECOVERED, date(2030, 7, 1)
        )

    # then
    assert (closed.status, closed.closed_on) == (CaseStatus.CLOSED, date(2030, 7, 1))


async def test_a_case_cannot_close_on_the_regions_tomorrow(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        # given
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        case = await region.case(
            await region.patient(insurer), clinic, representative, opened_on=date(2026, 1, 10)
        )
        service = SupervisionService(session, at(LATE_EVENING_UTC, "Europe/London"))

        # when / then
        with pytest.raises(ValidationFailed) as refused:
            await service.close(
                ADMIN, case.id, case.version, CloseReason.RECOVERED, date(2030, 7, 1)
            )
    assert refused.value.message == "must be between the opening date and today"
