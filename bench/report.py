"""`python -m bench.report RESULTS.json`: the results as the Markdown tables of docs/benchmarks.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

AS_REPRESENTATIVE = "api_as_representative"  # the API, each request asked as a representative


def ratio(value: float | None, baseline: float | None) -> float | None:
    return round(value / baseline, 3) if value and baseline else None


def ratios_by_round(measured: dict[str, Any]) -> dict[str, list[float | None]]:
    """Given one scenario's servers by label, the API's throughput over each baseline's (the
    representatives': theirs over the API's), round by round: the servers of a round run within
    a minute of each other, so these ratios cancel much of what drifts between rounds."""
    api_rounds = measured["api"].get("rounds")
    ratios: dict[str, list[float | None]] = {}
    if api_rounds is None:
        return ratios  # the earliest results files kept the median round only
    for label, load in measured.items():
        if label == "api" or not isinstance(load, dict) or "rounds" not in load:
            continue  # the API itself, and the ratios kept beside the servers
        pairs = zip(api_rounds, load["rounds"], strict=True)
        if label == AS_REPRESENTATIVE:
            ratios[label] = [ratio(other, api) for api, other in pairs]
        else:
            ratios[label] = [ratio(api, other) for api, other in pairs]
    return ratios


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3g}" if value < 10 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _row(*cells: Any) -> str:
    return "| " + " | ".join(_fmt(cell) for cell in cells) + " |"


def http_table(size: dict[str, Any]) -> list[str]:
    lines = [
        "| scenario | server | requests/s (median round) | every round | p50 ms | p99 ms "
        "| errors | API ÷ server (as representatives: ÷ the API) | the same, round by round |",
        "|---|---|---:|---|---:|---:|---:|---:|---|",
    ]
    http = size["http"]
    for scenario in ("worklist", "patient_card"):
        api_rps = http[scenario]["api"]["requests_per_second"]
        every_round = ratios_by_round(http[scenario])
        for server in (
            "api",
            AS_REPRESENTATIVE,
            "floor",
            "floor_previous_plan",
            "postgraphile",
        ):
            load = http[scenario].get(server)
            if load is None:
                continue
            if server == "api":
                to_server = None
            elif server == AS_REPRESENTATIVE:
                to_server = http[scenario].get("representative_to_administrator")
            else:
                to_server = ratio(api_rps, load["requests_per_second"])
            rounds = " / ".join(_fmt(value) for value in load.get("rounds", ()))
            by_round = every_round.get(server)
            lines.append(
                _row(
                    scenario.replace("_", " "), server.replace("_", " "),
                    load["requests_per_second"], rounds, load["p50_ms"], load["p99_ms"],
                    load["errors"], to_server,
                    " / ".join(_fmt(value) for value in by_round) if by_round else None,
                )
            )  # fmt: skip
    return lines


def other_table(size: dict[str, Any]) -> list[str]:
    http, scan = size["http"], size["missed_visit_scan"]
    counts = http["statement_counts"]
    record = http["record_visits"]
    rss = http["peak_rss_mib"]
    lines = ["| figure | value | baseline | ratio |", "|---|---:|---:|---:|"]
    for scenario in ("worklist", "patient_card"):
        by_size = counts[scenario]["by_page_size"]
        shown = " / ".join(f"{by_size[key]}" for key in sorted(by_size, key=int))
        lines.append(
            _row(
                f"{scenario.replace('_', ' ')}: statements at page size {' / '.join(sorted(by_size, key=int))}",
                shown, "constant", "constant" if counts[scenario]["constant"] else "grows",
            )
        )  # fmt: skip
    lines.append(
        _row(
            f"recordVisits, batches of 100, {record['concurrent_clients']} clients: visits/s",
            record["visits_per_second"], "–", None,
        )
    )  # fmt: skip
    clinics = http.get("record_visits_as_clinics")
    if clinics is not None:
        lines.append(
            _row(
                "recordVisits sent by the clinics' systems: visits/s (baseline: the administrator)",
                clinics["visits_per_second"], record["visits_per_second"],
                clinics["ratio_to_administrator"],
            )
        )  # fmt: skip
    lines.append(
        _row(
            f"missed-visit scan, {scan['newly_missed']:,} newly missed: s",
            scan["scan_seconds"], scan["single_update_seconds"], scan["ratio"],
        )
    )  # fmt: skip
    lines.append(
        _row("peak RSS of the API under load, MiB", rss.get("api_after_writes"), rss.get("floor"),
             None)
    )  # fmt: skip
    return lines


def broker_table(brokers: dict[str, Any]) -> list[str]:
    lines = [
        "| broker | reminders | pipeline reminders/s | no-op actor messages/s | pipeline ÷ no-op "
        "| no-op enqueue/s | worker peak RSS MiB: pipeline / no-op | worker CPU s: pipeline / no-op "
        "| all sent |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in ("redis", "rabbitmq"):
        found = brokers.get(name) or {}
        noop, pipeline = found.get("noop_actor"), found.get("pipeline")
        if noop is None or pipeline is None:
            lines.append(_row(name, found.get("skipped", "not run"), *[None] * 7))
            continue
        all_sent = pipeline["finished"] and pipeline["gateway_accepted"] == pipeline["reminders"]
        lines.append(
            _row(
                name, pipeline["reminders"], pipeline["reminders_per_second"],
                noop["messages_per_second"], found["ratio_to_noop"], noop["enqueue_per_second"],
                f"{_fmt(pipeline['worker_peak_rss_mib'])} / {_fmt(noop['worker_peak_rss_mib'])}",
                f"{_fmt(pipeline['worker_cpu_seconds'])} / {_fmt(noop['worker_cpu_seconds'])}",
                "yes" if all_sent else f"no: {pipeline['statuses']}",
            )
        )  # fmt: skip
    return lines


def render(report: dict[str, Any]) -> str:
    out = [f"Run of {report['date']}, seed {report['seed']}, {report['seconds']} s in all.", ""]
    for size in report["sizes"]:
        generation = size["generation"]
        rows = generation["rows"]
        out += [
            f"### {size['patients']:,} patients",
            "",
            f"Generated in {generation['seconds']['total']} s "
            f"(COPY {generation['seconds']['copy']} s, indexes and ANALYZE "
            f"{generation['seconds']['indexes_and_analyze']} s): "
            + ", ".join(f"{count:,} {table}" for table, count in rows.items() if count > 100)
            + ".",
            "",
            *http_table(size),
            "",
            *other_table(size),
            "",
        ]
    if report.get("growth"):
        growth = report["growth"]
        out += [
            f"### Growth from {growth['from_patients']:,} to {growth['to_patients']:,} patients",
            "",
            "| figure | large ÷ small |",
            "|---|---:|",
            *(
                _row(key.replace("_", " "), value)
                for key, value in growth.items()
                if key.endswith("ratio")
            ),
            "",
        ]
    if report.get("reminder_pipeline"):
        out += ["### Reminder pipeline", "", *broker_table(report["reminder_pipeline"]), ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(render(json.loads(Path(sys.argv[1]).read_text())))
