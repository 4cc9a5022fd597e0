"""Tests for cases.supervision.annexes: the order's rows, keyed by code and specialty, and the
plan a case gets from them. The codes are real ones from the order's annexes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cases.kit.validation import normalize_icd10
from cases.supervision.annexes import (
    PlanSource,
    covers,
    load_order_rows,
    match_rule,
    parse_codes,
    resolve_plan,
)
from cases.supervision.schedule import Schedule

ORDER = load_order_rows()
REGION_DEFAULT = Schedule.per_year(1)


def test_all_rows_of_the_three_annexes_load() -> None:
    assert len(ORDER) == 102
    assert {annex: sum(row.annex == annex for row in ORDER) for annex in (1, 2, 3)} == {
        1: 34,
        2: 13,
        3: 55,
    }
    assert ORDER[0].cited == "Order 168н, annex 1, row 1"


@pytest.mark.parametrize(
    ("code", "ranges", "covered"),
    [
        ("I11.9", "I10-I15", True),
        ("I15.9", "I10-I15", True),
        ("I16", "I10-I15", False),
        ("K50.1", "K50", True),
        ("K51", "K50", False),
        ("I69.35", "I69.0-I69.4", True),
        ("I69.5", "I69.0-I69.4", False),
        ("I69", "I69.0-I69.4", False),
        ("Z95.3", "I05-I09;Z95.2-Z95.4", True),
    ],
)
def test_ranges_and_three_character_codes_cover_their_subcodes(
    code: str, ranges: str, covered: bool
) -> None:
    assert covers(parse_codes(ranges), code) is covered


@pytest.mark.parametrize("bad", ["I15-I10", "I1", "I10-", "10I"])
def test_a_bad_code_list_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="ICD-10"):
        parse_codes(bad)


def _plan(code: str, specialty: str | None, clinic_plan: Schedule | None = None):  # type: ignore[no-untyped-def]
    return resolve_plan(
        code, specialty, ORDER, clinic_plan=clinic_plan, region_default=REGION_DEFAULT
    )


def test_hypertension_is_once_a_year_with_the_therapist_and_twice_with_the_cardiologist() -> None:
    therapist, cardiologist = _plan("I11.9", "therapist"), _plan("I11.9", "cardiologist")

    assert str(therapist.schedule) == "per_year:1"
    assert therapist.rule is not None
    assert therapist.rule.cited == "Order 168н, annex 1, row 1"
    assert str(cardiologist.schedule) == "per_year:2"
    assert cardiologist.rule is not None
    assert cardiologist.rule.cited == "Order 168н, annex 2, row 2"
    assert therapist.source is cardiologist.source is PlanSource.RULE


def test_after_a_stroke_every_three_months_then_every_six() -> None:
    plan = _plan("I69.3", None)

    assert str(plan.schedule) == "phases:every_months:3@12;every_months:6"
    assert plan.specialty == "therapist"


def test_pulmonary_embolism_is_four_a_year_for_twelve_months_with_the_cardiologist() -> None:
    # given no specialty: the therapist has no row for I26, so the cardiologist's applies
    plan = _plan("I26", None)

    assert str(plan.schedule) == "per_year:4"
    assert plan.specialty == "cardiologist"
    assert plan.rule is not None
    assert str(plan.rule.duration) == "months:12"


def test_type_2_diabetes_uses_the_clinics_plan_or_the_regions_default_and_says_which() -> None:
    clinic = _plan("E11.9", "therapist", clinic_plan=Schedule.per_year(4))
    default = _plan("E11.9", "therapist")

    assert clinic.source is PlanSource.CLINIC
    assert str(clinic.schedule) == "per_year:4"
    assert not clinic.below_minimum
    assert default.source is PlanSource.REGION_DEFAULT
    assert default.schedule == REGION_DEFAULT
    assert default.rule is not None
    assert default.rule.cited == "Order 168н, annex 1, row 8"
    assert "sets no number" in default.explanation


def test_a_clinic_plan_below_the_orders_minimum_is_kept_and_flagged() -> None:
    plan = _plan("I11.9", "cardiologist", clinic_plan=Schedule.per_year(1))

    assert plan.source is PlanSource.CLINIC
    assert plan.below_minimum
    assert "minimum is higher" in plan.explanation


def test_two_rows_of_one_annex_the_stricter_applies_and_the_plan_says_which() -> None:
    rule, specialty, why = match_rule("K31.7", "therapist", ORDER)

    assert rule is not None
    assert rule.cited == "Order 168н, annex 1, row 14"
    assert specialty == "therapist"
    assert why == (
        "Order 168н, annex 1, row 14 covers K31.7; the stricter of it and Order 168н, annex 1, row 27"
    )


def test_a_code_the_order_does_not_name_gets_the_regions_default() -> None:
    plan = _plan("J45.0", "neurologist")

    assert plan.source is PlanSource.REGION_DEFAULT
    assert plan.rule is None
    assert (
        plan.explanation == "no row covers J45.0 for the neurologist: the region's default applies"
    )


def test_a_code_written_as_the_order_writes_it_is_matched() -> None:
    code = normalize_icd10("N 18.1")

    plan = _plan(code, None)

    assert code == "N18.1"
    assert plan.rule is not None
    assert plan.rule.cited == "Order 168н, annex 1, row 22"


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("1,1,surgeon ,I10-I15,x,per_year:1,lifelong,", "line 3: annex 1, row 1 repeats line 2"),
        ("1,99,therapist,I10-I15,x,per_year:0,lifelong,", "line 3: .*between 1 and 52"),
        ("1,99,therapist,I10-I15,x,per_year:1,forever,", "line 3: .*not a duration"),
        ("1,99,nurse,I10-I15,x,per_year:1,lifelong,", "line 3: specialty 'nurse'"),
    ],
)
def test_a_bad_row_of_the_annexes_names_its_line(tmp_path: Path, line: str, complaint: str) -> None:
    # given the first real row, then a bad one
    path = tmp_path / "annexes.csv"
    header = "annex,row,specialty,icd10,condition,schedule,duration,remark"
    first = "1,1,therapist,I10-I15,x,per_year:1,lifelong,"
    path.write_text("\n".join([header, first, line]) + "\n", encoding="utf-8")

    with pytest.raises(ValueError, match=complaint):
        load_order_rows(path)
