"""`python -m bench.report` renders every results file kept in `bench/results/`, the earliest
(which kept the median round only) as well as those with every round."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.report import render

RESULTS = sorted((Path(__file__).parents[2] / "bench" / "results").glob("*.json"))


@pytest.mark.parametrize("results", RESULTS, ids=[path.stem for path in RESULTS])
def test_every_results_file_renders(results: Path) -> None:
    # given
    report = json.loads(results.read_text())

    # when
    rendered = render(report)

    # then: one table row per server of each scenario, with a ratio round by round where the
    # file kept its rounds
    size = report["sizes"][0] if report.get("sizes") else None
    if size is None:
        assert "Reminder pipeline" in rendered
        return
    card = size["http"]["patient_card"]
    floor_row = next(
        line for line in rendered.splitlines() if line.startswith("| patient card | floor |")
    )
    by_round = floor_row.rstrip(" |").rsplit("| ", 1)[1]
    assert (by_round == "–") == ("rounds" not in card["api"])
