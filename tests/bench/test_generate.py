"""The benchmark region is a function of its seed and size."""

from __future__ import annotations

from typing import Any

from bench.generate import Counters, PatientChunk, reference_rows


def region(seed: int, patients: int = 50) -> dict[str, Any]:
    ids = Counters()
    rows, reference = reference_rows(patients, ids)
    chunk = PatientChunk(seed, 0, reference, ids)
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
