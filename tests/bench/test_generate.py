"""The benchmark region is a function of its seed and size."""

from __future__ import annotations

from typing import Any

from bench.generate import COLUMNS, Counters, PatientChunk, Plans, reference_rows
from cases.supervision.annexes import load_order_rows
from cases.supervision.rules import RulesTable

# The order's rows, numbered as a freshly migrated database numbers them.
TABLE = RulesTable(tuple(enumerate(load_order_rows(), 1)))


def region(seed: int, patients: int = 50) -> dict[str, Any]:
    ids = Counters()
    rows, reference = reference_rows(patients, ids)
    chunk = PatientChunk(seed, 0, reference, ids, Plans(TABLE))
    for _ in range(patients):
        chunk.patient()
    return {**rows, **chunk.rows}


def test_the_same_seed_gives_the_same_rows_and_another_seed_other_rows() -> None:
    assert region(1) == region(1)
    assert region(1)["patient"] != region(2)["patient"]


def test_nothing_planned_is_overdue_and_every_missed_visit_has_its_work_item() -> None:
    rows = region(3, patients=200)
    visits = rows["visit"]
    planned_ends = [visit[4] for visit in visits if visit[6] == "planned"]
    missed = {visit[0] for visit in visits if visit[6] == "missed"}

    assert planned_ends
    assert min(planned_ends).isoformat() > "2026-11-13"
    assert {item[5] for item in rows["work_item"]} == missed


def test_the_cases_are_planned_by_the_rules_table() -> None:
    columns = COLUMNS["supervision_case"]
    cases = [dict(zip(columns, case, strict=True)) for case in region(4, 300)["supervision_case"]]
    rows = dict(TABLE.rows)

    by_rule = [case for case in cases if case["plan_source"] == "rule"]
    assert by_rule
    for case in by_rule:
        rule = rows[case["rule_id"]]
        assert case["schedule"] == str(rule.schedule)
        assert case["specialty"] == rule.specialty
    hypertension = {case["visits_per_year"] for case in by_rule if case["icd10"] == "I10"}
    assert hypertension == {1}
