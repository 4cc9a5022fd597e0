"""The rules table in the database and the plan a case gets from it, with real codes of Order
168н's annexes."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from cases.kit.actor import Actor, Role
from cases.kit.errors import ValidationFailed
from cases.supervision.models import SupervisionCase
from cases.supervision.policy import CaseRules
from cases.supervision.rules import SupervisionRuleService
from cases.supervision.service import SupervisionService
from tests.conftest import RolledBackDatabase
from tests.factories import Region

ADMIN = Actor(Role.ADMIN, "admin:test")
TODAY = date(2026, 11, 20)
RULES = CaseRules(default_visits_per_year=1)


async def open_case(
    db: RolledBackDatabase,
    icd10: str,
    *,
    opened_on: date = date(2026, 11, 2),
    **fields: object,
) -> SupervisionCase:
    async with db.session() as session:
        region = Region(session)
        insurer, clinic, _ = await region.basics()
        patient = await region.patient(insurer)
        case = await SupervisionService(session, RULES).open(
            ADMIN,
            patient_id=patient.id,
            icd10=icd10,
            clinic_id=clinic.id,
            opened_on=opened_on,
            today=TODAY,
            **fields,
        )
        await session.commit()
    return case


async def test_the_orders_rows_are_in_the_table(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        rows = await SupervisionRuleService(session).all()

    assert len(rows) == 102
    assert {(row.annex, row.row) for row in rows} >= {(1, 1), (2, 2), (3, 1)}
    assert rows[0].source == "Order 168н, annex 1, row 1"


@pytest.mark.parametrize(
    ("specialty", "visits", "cited"),
    [
        (None, 1, "Order 168н, annex 1, row 1"),
        ("therapist", 1, "Order 168н, annex 1, row 1"),
        ("cardiologist", 2, "Order 168н, annex 2, row 2"),
    ],
)
async def test_hypertension_is_once_a_year_with_the_therapist_twice_with_the_cardiologist(
    db: RolledBackDatabase, specialty: str | None, visits: int, cited: str
) -> None:
    case = await open_case(db, "I11.9", specialty=specialty)

    async with db.session() as session:
        [source] = (
            await session.execute(
                sa.text("SELECT source FROM supervision_rule WHERE id = :id"), {"id": case.rule_id}
            )
        ).scalars()
    assert (case.visits_per_year, case.plan_source, case.schedule) == (
        visits,
        "rule",
        f"per_year:{visits}",
    )
    assert case.specialty == (specialty or "therapist")
    assert source == cited


async def test_type_2_diabetes_uses_the_clinics_plan_and_says_so(db: RolledBackDatabase) -> None:
    with_plan = await open_case(db, "E11.9", visits_per_year=4)
    without = await open_case(db, "E11.9")

    assert (with_plan.plan_source, with_plan.visits_per_year) == ("clinic", 4)
    # The order gives no number for it: the region's default until the clinic sends its plan.
    assert (without.plan_source, without.visits_per_year) == ("region_default", 1)
    assert with_plan.rule_id == without.rule_id is not None


async def test_a_code_written_as_the_clinic_writes_it_is_normalised(
    db: RolledBackDatabase,
) -> None:
    case = await open_case(db, "N 18.1")

    assert (case.icd10, case.visits_per_year, case.plan_source) == ("N18.1", 4, "rule")


async def test_pulmonary_embolism_is_four_a_year_reviewed_after_twelve_months(
    db: RolledBackDatabase,
) -> None:
    case = await open_case(db, "I26.9", specialty="cardiologist", opened_on=date(2026, 3, 10))

    assert (case.visits_per_year, case.review_on) == (4, date(2027, 3, 10))


async def test_after_a_stroke_every_three_months_in_the_first_year(db: RolledBackDatabase) -> None:
    case = await open_case(db, "I69.3", opened_on=date(2026, 1, 15))

    assert case.schedule == "phases:every_months:3@12;every_months:6"
    assert case.visits_per_year == 4


@pytest.mark.parametrize(
    ("diagnosed_on", "opened_on", "late"),
    [
        # Friday 30 October 2026; 2, 3 and 5 November are working days (4 November, National
        # Unity Day, is not): the third is 5 November.
        (date(2026, 10, 30), date(2026, 11, 5), False),
        (date(2026, 10, 30), date(2026, 11, 6), True),
        (None, date(2026, 11, 6), False),
    ],
)
async def test_supervision_begun_after_three_working_days_is_flagged(
    db: RolledBackDatabase, diagnosed_on: date | None, opened_on: date, late: bool
) -> None:
    case = await open_case(db, "I10", diagnosed_on=diagnosed_on, opened_on=opened_on)

    assert (case.diagnosed_on, case.opened_late) == (diagnosed_on, late)


async def test_a_diagnosis_after_the_opening_and_an_unknown_specialty_are_refused(
    db: RolledBackDatabase,
) -> None:
    with pytest.raises(ValidationFailed) as after:
        await open_case(db, "I10", diagnosed_on=date(2026, 11, 3), opened_on=date(2026, 11, 2))
    with pytest.raises(ValidationFailed) as unknown:
        await open_case(db, "I10", specialty="astrologer")

    assert (after.value.field, unknown.value.field) == ("diagnosed_on", "specialty")


async def test_a_regional_row_stricter_than_the_orders_sets_the_plan(
    db: RolledBackDatabase,
) -> None:
    async with db.session() as session:
        added = await SupervisionRuleService(session).add_regional(
            ADMIN,
            specialty="therapist",
            icd10="I11",
            condition="Гипертензивная болезнь сердца",
            schedule="per_year:3",
            duration="lifelong",
            remark="",
            source="Региональный приказ № 1",
        )
        await session.commit()

    case = await open_case(db, "I11.9")

    assert (case.visits_per_year, case.rule_id) == (3, added.id)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("specialty", "astrologer"),
        ("icd10", "I11-I10"),
        ("schedule", "sometimes"),
        ("duration", "forever"),
        ("source", " "),
    ],
)
async def test_a_bad_regional_row_is_refused_naming_the_field(
    db: RolledBackDatabase, field: str, value: str
) -> None:
    values = {
        "specialty": "therapist",
        "icd10": "I11",
        "condition": "x",
        "schedule": "per_year:2",
        "duration": "lifelong",
        "remark": "",
        "source": "Региональный приказ",
    }
    values[field] = value
    async with db.session() as session:
        with pytest.raises(ValidationFailed) as refused:
            await SupervisionRuleService(session).add_regional(ADMIN, **values)

    assert refused.value.field == field
