"""Tests for api.demo: the demo region is complete, valid and the same for the same seed."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from api.demo import TFOMS_CONTACT_CENTRE, seed_region
from cases.kit.columns import UtcDateTime
from cases.kit.validation import name_search_key, normalize_enp, normalize_phone, normalize_snils
from cases.metadata import metadata
from cases.patients.models import Patient, Sex
from cases.registry.models import Insurer, Representative
from cases.reminders.models import Reminder, ReminderKind
from cases.reminders.policy import reminder_key
from cases.supervision.models import (
    CaseStatus,
    SupervisionCase,
    SupervisionRule,
    Visit,
    VisitStatus,
)
from cases.supervision.policy import DEFAULT_GRACE_DAYS, window_days
from core.db import create_engine, create_session_factory
from core.migrate import upgrade
from core.settings import Settings

TODAY = date(2025, 3, 14)
SEED = 7
PATIENTS = 200

SessionFactoryMaker = Callable[[], Awaitable[async_sessionmaker[AsyncSession]]]


@pytest_asyncio.fixture
async def fresh_database(tmp_path: Path) -> AsyncIterator[SessionFactoryMaker]:
    """Makes session factories over new, migrated SQLite files; disposes their engines after."""
    engines: list[AsyncEngine] = []

    async def make() -> async_sessionmaker[AsyncSession]:
        url = f"sqlite+aiosqlite:///{tmp_path / f'demo-{len(engines)}.sqlite3'}"
        # upgrade() runs its own event loop, so it must leave this one's thread.
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(Settings(database_url=url))
        engines.append(engine)
        return create_session_factory(engine)

    yield make
    for engine in engines:
        await engine.dispose()


async def _enps(factory: async_sessionmaker[AsyncSession]) -> list[str]:
    async with factory() as session:
        return list(
            (await session.scalars(sa.select(col(Patient.enp)).order_by(col(Patient.id)))).all()
        )


async def _visit_statuses(factory: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with factory() as session:
        rows = await session.execute(
            sa.select(col(Visit.status), sa.func.count()).group_by(col(Visit.status))
        )
        return {str(status): count for status, count in rows.all()}


@pytest.mark.asyncio
async def test_seed_region_builds_a_valid_region(fresh_database: SessionFactoryMaker) -> None:
    # given
    factory = await fresh_database()

    # when
    counts = await seed_region(factory, patients=PATIENTS, seed=SEED, progress=False, today=TODAY)

    # then
    assert counts["insurers"] == 2
    assert counts["representatives"] == 143
    assert counts["patients"] == PATIENTS
    assert counts["clinics"] >= 10
    assert counts["cases"] >= PATIENTS
    assert counts["visits"] > counts["cases"]
    assert counts["work_items"] > 0
    assert counts["contact_attempts"] > 0
    assert TFOMS_CONTACT_CENTRE == normalize_phone("8-800-707-11-35") == "+78007071135"

    async with factory() as session:
        insurers = (await session.scalars(sa.select(Insurer).order_by(col(Insurer.code)))).all()
        level_rows = await session.execute(
            sa.select(col(Representative.level), sa.func.count()).group_by(
                col(Representative.level)
            )
        )
        levels = {level: count for level, count in level_rows.all()}
        supervisors = (
            await session.scalars(
                sa.select(Representative).where(col(Representative.is_supervisor))
            )
        ).all()
        patients = (await session.scalars(sa.select(Patient))).all()
        cases = (await session.scalars(sa.select(SupervisionCase))).all()
        visits = (await session.scalars(sa.select(Visit))).all()

    assert {(i.code, i.hotline_phone) for i in insurers} == {
        ("INGOS-M", "+78652560668"),
        ("VTB-MS", "+78003332225"),
    }
    assert levels == {1: 86, 2: 45, 3: 12}
    assert len(supervisors) == 2
    assert {s.insurer_id for s in supervisors} == {i.id for i in insurers}
    assert all(s.level == 3 for s in supervisors)

    assert len({p.enp for p in patients}) == PATIENTS
    for patient in patients:
        assert normalize_enp(patient.enp) == patient.enp
        if patient.snils is not None:
            assert normalize_snils(patient.snils) == patient.snils
        if patient.phone is not None:
            assert normalize_phone(patient.phone) == patient.phone
        assert patient.search_name == name_search_key(
            patient.last_name, patient.first_name, patient.middle_name
        )
        assert (patient.middle_name or "").endswith(
            ("вич", "ич") if patient.sex is Sex.MALE else ("вна", "чна")
        )
    assert sum(p.snils is not None for p in patients) > PATIENTS * 0.8

    closed = [c for c in cases if c.status is CaseStatus.CLOSED]
    assert closed
    assert all(c.closed_on is not None and c.close_reason is not None for c in closed)

    assert all(v.window_start <= v.window_end for v in visits)
    statuses = {v.status for v in visits}
    assert {VisitStatus.ATTENDED, VisitStatus.MISSED, VisitStatus.PLANNED} <= statuses
    # Every active case has exactly one planned window (the open one or the next), closed ones none.
    planned = Counter(v.case_id for v in visits if v.status is VisitStatus.PLANNED)
    assert planned == {c.id: 1 for c in cases if c.status is CaseStatus.ACTIVE}
    assert any(v.window_start > TODAY for v in visits if v.status is VisitStatus.PLANNED)
    assert all(
        v.attended_on is not None and v.window_start <= v.attended_on <= TODAY
        for v in visits
        if v.status is VisitStatus.ATTENDED
    )
    assert all(v.missed_at is not None for v in visits if v.status is VisitStatus.MISSED)


@pytest.mark.asyncio
async def test_same_seed_and_day_give_the_same_region(fresh_database: SessionFactoryMaker) -> None:
    # given
    first, second, other = [await fresh_database() for _ in range(3)]

    # when
    first_counts = await seed_region(
        first, patients=PATIENTS, seed=SEED, progress=False, today=TODAY
    )
    second_counts = await seed_region(
        second, patients=PATIENTS, seed=SEED, progress=False, today=TODAY
    )
    await seed_region(other, patients=PATIENTS, seed=SEED + 1, progress=False, today=TODAY)

    # then
    assert first_counts == second_counts
    assert await _enps(first) == await _enps(second)
    assert await _visit_statuses(first) == await _visit_statuses(second)
    assert set(await _enps(first)).isdisjoint(await _enps(other))


@pytest.mark.asyncio
async def test_seeding_twice_is_refused(fresh_database: SessionFactoryMaker) -> None:
    # given
    factory = await fresh_database()
    await seed_region(factory, patients=10, seed=SEED, progress=False, today=TODAY)

    # when / then
    with pytest.raises(ValueError, match="already holds a region"):
        await seed_region(factory, patients=10, seed=SEED, progress=False, today=TODAY)
    assert len(await _enps(factory)) == 10


async def test_the_demo_follows_the_domains_own_plan(fresh_database: SessionFactoryMaker) -> None:
    """Its windows, reminder keys and missed visits are the domain's, not copies of them."""
    sessions = await fresh_database()
    await seed_region(sessions, patients=PATIENTS, seed=SEED, today=TODAY)

    async with sessions() as session:
        cases = {c.id: c for c in (await session.execute(sa.select(SupervisionCase))).scalars()}
        visits = (await session.execute(sa.select(Visit))).scalars().all()
        reminders = (
            await session.execute(sa.select(Reminder).where(col(Reminder.visit_id).is_not(None)))
        ).scalars()
        keys = [(r.idempotency_key, r.visit_id, r.kind, r.scheduled_for) for r in reminders]

    assert visits
    assert keys
    for visit in visits:
        case = cases[visit.case_id]
        length = window_days(case.visits_per_year)
        assert visit.window_end - visit.window_start == timedelta(days=length)
        if visit.status is VisitStatus.MISSED:
            assert visit.missed_at is not None
            assert (visit.missed_at.date() - visit.window_end).days > DEFAULT_GRACE_DAYS
    for key, visit_id, kind, scheduled_for in keys:
        assert visit_id is not None
        local_day = scheduled_for.astimezone(ZoneInfo("Europe/Moscow")).date()
        assert key == reminder_key(visit_id, ReminderKind(kind), local_day)


async def test_the_demos_cases_are_planned_by_the_rules_table(
    fresh_database: SessionFactoryMaker,
) -> None:
    sessions = await fresh_database()
    await seed_region(sessions, patients=PATIENTS, seed=SEED, today=TODAY)

    async with sessions() as session:
        rows = {
            row.id: row for row in (await session.execute(sa.select(SupervisionRule))).scalars()
        }
        cases = (await session.execute(sa.select(SupervisionCase))).scalars().all()

    by_rule = [case for case in cases if case.plan_source == "rule"]
    assert len(rows) == 102
    assert by_rule
    assert {case.plan_source for case in cases} <= {"rule", "clinic", "region_default"}
    for case in by_rule:
        assert case.rule_id is not None
        assert case.schedule == rows[case.rule_id].schedule
        assert case.specialty == rows[case.rule_id].specialty
    hypertension = {
        (case.specialty, case.visits_per_year) for case in by_rule if case.icd10 == "I10"
    }
    assert hypertension == {("therapist", 1), ("cardiologist", 2)}


# Instants that may lie ahead by design: what is planned, not what happened.
AHEAD_BY_DESIGN = {"scheduled_for", "appointment_at", "due_at", "expires_at"}
# Reference data the service ships, loaded when the region is seeded: not the region's history.
REFERENCE_TABLES = {"supervision_rule"}


async def test_nothing_in_the_demo_happened_after_it_was_seeded(
    fresh_database: SessionFactoryMaker,
) -> None:
    # given: seeded at 08:00 in the region, before the day's 10:00 reminders go out
    now = datetime.combine(TODAY, time(8, 0), tzinfo=ZoneInfo("Europe/Moscow"))
    sessions = await fresh_database()
    await seed_region(sessions, patients=PATIENTS, seed=SEED, now=now)

    # then: no instant of what happened is later than that
    later: list[str] = []
    async with sessions() as session:
        for table in metadata.sorted_tables:
            if table.name in REFERENCE_TABLES:
                continue
            for column in table.columns:
                if not isinstance(column.type, UtcDateTime) or column.name in AHEAD_BY_DESIGN:
                    continue
                count = (
                    await session.execute(
                        sa.select(sa.func.count()).select_from(table).where(column > now)
                    )
                ).scalar_one()
                if count:
                    later.append(f"{table.name}.{column.name}: {count}")
    assert later == []
