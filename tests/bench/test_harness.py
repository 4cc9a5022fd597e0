"""The benchmark harness still runs end to end: a tiny region, one second of load per server,
200 reminders through the pipeline on each broker."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import main
from tests.conftest import (
    DATABASE_PREFIX,
    RABBITMQ_URL,
    REDIS_URL,
    require_service,
    services_required,
)


def test_the_harness_measures_every_scenario_against_its_baseline(tmp_path: Path) -> None:
    # given
    require_service("PostgreSQL", "127.0.0.1", 5432)
    output = tmp_path / "results.json"

    # when
    report = main(
        [
            "--patients", "1000", "--seconds", "1", "--rounds", "2", "--connections", "2",
            "--record-batches", "1", "--messages", "200", "--worker-threads", "2",
            "--no-postgraphile", "--database-prefix", f"bench_{DATABASE_PREFIX}",
            "--redis", REDIS_URL, "--rabbitmq", RABBITMQ_URL, "--output", str(output),
        ]
    )  # fmt: skip

    # then
    assert output.exists()
    size = report["sizes"][0]
    assert size["generation"]["rows"]["patient"] == 1000
    for scenario in ("worklist", "patient_card"):
        assert size["http"][scenario]["api"]["requests"] > 0
        assert size["http"][scenario]["api"]["errors"] == 0
        assert size["http"][scenario]["ratio_to_floor"] is not None
        by_round = size["http"][scenario]["ratios_by_round"]
        assert len(by_round["floor"]) == len(by_round["api_as_representative"]) == 2
        assert size["http"][scenario]["api_as_representative"]["requests"] > 0
        assert size["http"][scenario]["api_as_representative"]["errors"] == 0
        assert size["http"][scenario]["representative_to_administrator"] is not None
        assert size["http"]["statement_counts"][scenario]["constant"]
    for sender in ("record_visits", "record_visits_as_clinics"):
        assert size["http"][sender]["visits"] > 0, size["http"][sender]
        assert size["http"][sender]["failed_items"] == 0
    scan = size["missed_visit_scan"]
    assert scan["flagged_by_scan"] == scan["flagged_by_single_update"] == scan["newly_missed"]
    assert scan["reminders_by_scan"] == scan["reminders_by_single_update"]
    assert len(scan["scan_seconds_per_round"]) == len(scan["single_update_seconds_per_round"]) == 3
    for broker in ("redis", "rabbitmq"):
        measured = report["reminder_pipeline"][broker]
        if "skipped" in measured:
            assert not services_required(), measured["skipped"]
            continue
        pipeline = measured["pipeline"]
        assert pipeline["finished"]
        assert pipeline["statuses"] == {"sent": 200}
        assert pipeline["gateway_accepted"] == pipeline["gateway_requests"] == 200
        assert measured["ratio_to_noop"] is not None
