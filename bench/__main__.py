"""`python -m bench`: generate a region, measure every scenario against its baseline, write JSON.

python -m bench --patients 100000                       # the quick run
python -m bench --patients 100000 --patients 1000000    # the full run, with growth
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx

from api.auth import mint_development_token
from bench import database, generate, postgraphile, processes, queries, scenarios
from bench.load import CALLER, request_of, run_load, wrk_available
from bench.pipeline import pipeline_throughput
from bench.report import AS_REPRESENTATIVE, ratio, ratios_by_round

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Sample:
    """Who and what the load asks for: representatives with open items, patients with cases,
    and the subject (the token's `sub`) of each representative and of one representative of
    each patient's insurer, to ask as them."""

    representatives: list[int]
    patients: list[int]
    subjects: dict[int, str]  # representative id -> subject
    insurer_staff: dict[int, str]  # patient id -> the subject of a representative of its insurer

    def caller(self, subject: str) -> str:
        token = mint_development_token(
            processes.BENCH_JWT_SECRET, subject=subject, roles=["representative"]
        )
        return f"Bearer {token}"

    def as_representatives(self) -> dict[str, list[dict[str, Any]]]:
        """The bodies, each sent as the representative whose worklist it is or as one of the
        patient's insurer (`bench.load.CALLER`)."""
        return {
            "worklist": [
                {**queries.worklist_body(rep), CALLER: self.caller(self.subjects[rep])}
                for rep in self.representatives
            ],
            "patient_card": [
                {**queries.card_body(patient), CALLER: self.caller(self.insurer_staff[patient])}
                for patient in self.patients
            ],
        }


async def _sample(dsn: str, seed: int) -> Sample:
    """Representatives with at least 100 open items, and patients with cases, in a seeded order."""
    connection = await asyncpg.connect(dsn)
    try:
        representatives = [
            row["owner_id"]
            for row in await connection.fetch(
                "SELECT owner_id FROM work_item WHERE status = 'open' GROUP BY owner_id "
                "HAVING count(*) >= 100 ORDER BY owner_id"
            )
        ]
        if not representatives:
            representatives = [
                row["owner_id"]
                for row in await connection.fetch(
                    "SELECT DISTINCT owner_id FROM work_item ORDER BY owner_id"
                )
            ]
        top = await connection.fetchval("SELECT max(id) FROM patient")
        rng = random.Random(seed)
        patients = [rng.randrange(1, top + 1) for _ in range(1000)]
        subjects = {
            row["id"]: row["subject"]
            for row in await connection.fetch(
                "SELECT id, subject FROM representative WHERE id = ANY($1::bigint[])",
                representatives,
            )
        }
        insurer_staff = {
            row["id"]: row["subject"]
            for row in await connection.fetch(
                "SELECT p.id, (SELECT r.subject FROM representative r WHERE r.insurer_id = "
                "p.insurer_id AND r.active AND NOT r.is_supervisor ORDER BY r.id LIMIT 1) AS subject "
                "FROM patient p WHERE p.id = ANY($1::bigint[])",
                patients,
            )
        }
    finally:
        await connection.close()
    return Sample(representatives, patients, subjects, insurer_staff)


def _answer(url: str, body: dict[str, Any]) -> Any:
    """The server's answer to `body`, asked as its caller (`bench.load.CALLER`)."""
    caller, document = request_of(body)
    return httpx.post(url, json=document, headers={"Authorization": caller}, timeout=30).json()


def _same_answer(url: str, expected_url: str, body: dict[str, Any]) -> bool:
    return bool(_answer(url, body) == _answer(expected_url, body))


def _check_caller(url: str, body: dict[str, Any]) -> None:
    answer = _answer(url, body)
    if "errors" in answer or not any(answer["data"].values()):
        raise RuntimeError(f"the API answered a representative with nothing: {answer}")


def _check_peer(url: str, body: dict[str, Any]) -> None:
    answer = _answer(url, body)
    if "errors" in answer:
        raise RuntimeError(f"PostGraphile rejected the query: {answer['errors']}")


def http_scenarios(name: str, dsn: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    sample = asyncio.run(_sample(dsn, args.seed))
    representatives, patients = sample.representatives, sample.patients
    url = database.sqlalchemy_url(name)
    ours = {
        "worklist": [queries.worklist_body(rep) for rep in representatives],
        "patient_card": [queries.card_body(patient) for patient in patients],
    }
    # The same documents asked by the representatives who use them (the others ask as an
    # administrator, whom no data scope narrows, as the floor and PostGraphile answer).
    as_representatives = sample.as_representatives()
    peer = {
        "worklist": [postgraphile.worklist_body(rep, queries.PAGE_SIZE) for rep in representatives],
        "patient_card": [postgraphile.card_body(patient) for patient in patients],
    }
    env = {
        "DISPENSARY_DATABASE_URL": url,
        "DISPENSARY_BROKER_URL": "memory://",
        "DISPENSARY_LOG_LEVEL": "WARNING",
        "DISPENSARY_BENCH_DSN": dsn,
        "GRAPHILE_ENV": "production",
    }
    results: dict[str, Any] = {"worklist": {}, "patient_card": {}}
    servers: list[processes.Server] = []
    try:
        api = processes.start(
            "api", processes.api_command(port := processes.free_port()), port, env, work,
            ours["worklist"][0],
        )  # fmt: skip
        servers.append(api)
        floor = processes.start(
            "floor", processes.floor_command(port := processes.free_port()), port, env, work,
            ours["worklist"][0],
        )  # fmt: skip
        servers.append(floor)
        peer_server = None
        if args.postgraphile:
            postgraphile.install()
            port = processes.free_port()
            peer_server = processes.start(
                "postgraphile", postgraphile.command(dsn, port), port, env, work,
                peer["worklist"][0], within=120,
            )  # fmt: skip
            servers.append(peer_server)
        previous_plan = f"{floor.url}/previous-plan"
        for scenario in ("worklist", "patient_card"):
            for body in ours[scenario][:3]:
                for floor_url in (floor.url, previous_plan):
                    if not _same_answer(floor_url, api.url, body):
                        raise RuntimeError(f"the floor's {scenario} differs from the API's")
            if peer_server is not None:
                _check_peer(peer_server.url, peer[scenario][0])
            _check_caller(api.url, as_representatives[scenario][0])
            runs = [
                ("api", api.url, ours),
                (AS_REPRESENTATIVE, api.url, as_representatives),
                ("floor", floor.url, ours),
                ("floor_previous_plan", previous_plan, ours),
            ]
            if peer_server is not None:
                runs.append(("postgraphile", peer_server.url, peer))
            results[scenario].update(measure_alternately(runs, scenario, args, work))
            api_rps = results[scenario]["api"]["requests_per_second"]
            results[scenario]["ratio_to_floor"] = ratio(
                api_rps, results[scenario]["floor"]["requests_per_second"]
            )
            results[scenario]["representative_to_administrator"] = ratio(
                results[scenario][AS_REPRESENTATIVE]["requests_per_second"], api_rps
            )
            results[scenario]["ratio_to_previous_floor"] = ratio(
                api_rps, results[scenario]["floor_previous_plan"]["requests_per_second"]
            )
            if peer_server is not None:
                results[scenario]["ratio_to_postgraphile"] = ratio(
                    api_rps, results[scenario]["postgraphile"]["requests_per_second"]
                )
            results[scenario]["ratios_by_round"] = ratios_by_round(results[scenario])
        results["peak_rss_mib"] = {server.name: server.peak_rss_mib() for server in servers}
        results["record_visits"] = asyncio.run(
            scenarios.record_visits(api.url, url, args.record_batches)
        )
        # The same batches sent by the clinics' systems, whose data scope narrows every read.
        callers = asyncio.run(scenarios.clinic_callers(url))
        results["record_visits_as_clinics"] = asyncio.run(
            scenarios.record_visits(api.url, url, args.record_batches, callers=callers)
        )
        results["record_visits_as_clinics"]["ratio_to_administrator"] = ratio(
            results["record_visits_as_clinics"]["visits_per_second"],
            results["record_visits"]["visits_per_second"],
        )
        results["peak_rss_mib"]["api_after_writes"] = api.peak_rss_mib()
    finally:
        for server in servers:
            server.stop()
    results["statement_counts"] = asyncio.run(
        scenarios.statement_counts(url, representatives[0], patients[0])
    )
    results["load"] = {
        "connections": args.connections,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "tool": "wrk" if wrk_available() else "python",
    }
    return results


def measure_alternately(
    runs: list[tuple[str, str, dict[str, list[dict[str, Any]]]]],
    scenario: str,
    args: argparse.Namespace,
    work: Path,
) -> dict[str, Any]:
    """Each server's load results: warmed up first (caches, prepared statements, plans), then
    measured in `args.rounds` rounds, the order of the servers reversed every other round; the
    round with the median throughput is reported, with every round's throughput beside it.
    The machine is shared: a server measured once, always first or last, meets other load."""
    warm = max(1, args.seconds // 5)
    for _, url, bodies in runs:
        run_load(url, bodies[scenario], warm, args.connections, work)
    rounds: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in runs}
    for number in range(args.rounds):
        for label, url, bodies in runs if number % 2 == 0 else list(reversed(runs)):
            load = run_load(url, bodies[scenario], args.seconds, args.connections, work)
            rounds[label].append(load.as_dict())
    results = {}
    for label, measured in rounds.items():
        ordered = sorted(measured, key=lambda load: load["requests_per_second"])
        results[label] = {
            **ordered[(len(ordered) - 1) // 2],
            "rounds": [load["requests_per_second"] for load in measured],
        }
    return results


def measure_size(patients: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    name = f"{args.database_prefix}_p{patients}"
    print(f"[{patients} patients] creating {name}", flush=True)
    database.create_migrated(name)
    dsn = database.dsn(name)
    generated = asyncio.run(generate.generate(dsn, patients, args.seed))
    print(f"[{patients} patients] generated in {generated['seconds']['total']} s", flush=True)
    result: dict[str, Any] = {"patients": patients, "generation": generated}
    result["http"] = http_scenarios(name, dsn, args, work)
    print(f"[{patients} patients] HTTP scenarios done", flush=True)
    newly_missed = min(scenarios.NEWLY_MISSED, generated["rows"]["supervision_case"] // 4)
    result["missed_visit_scan"] = asyncio.run(
        scenarios.missed_visit_scan(database.sqlalchemy_url(name), newly_missed)
    )
    print(f"[{patients} patients] scan done", flush=True)
    if not args.keep:
        asyncio.run(database.drop(name))
    return result


def broker_scenarios(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """On each broker: the no-op actor's throughput, then the reminder pipeline's, and their ratio."""
    results: dict[str, Any] = {}
    for name, url in (("redis", args.redis), ("rabbitmq", args.rabbitmq)):
        address = urlsplit(url)
        host = address.hostname or "127.0.0.1"
        port = address.port or (6379 if name == "redis" else 5672)
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError:
            results[name] = {"skipped": f"{name} is not reachable at {host}:{port}"}
            continue
        print(f"[broker] no-op actor on {name}", flush=True)
        noop = scenarios.noop_actor_throughput(url, args.messages, args.worker_threads)
        print(f"[broker] reminder pipeline on {name}", flush=True)
        pipeline = pipeline_throughput(
            url, args.messages, args.worker_threads,
            f"{args.database_prefix}_pipeline_{name}", work, keep=args.keep,
        )  # fmt: skip
        results[name] = {
            "noop_actor": noop,
            "pipeline": pipeline,
            "ratio_to_noop": ratio(pipeline["reminders_per_second"], noop["messages_per_second"]),
        }
    return results


def growth(sizes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """How the per-request and per-scan figures change from the smallest to the largest region."""
    if len(sizes) < 2:
        return None
    small, large = sizes[0], sizes[-1]

    def rps(size: dict[str, Any], scenario: str, server: str = "api") -> float:
        return float(size["http"][scenario][server]["requests_per_second"])

    return {
        "from_patients": small["patients"],
        "to_patients": large["patients"],
        "worklist_throughput_ratio": ratio(rps(large, "worklist"), rps(small, "worklist")),
        "patient_card_throughput_ratio": ratio(
            rps(large, "patient_card"), rps(small, "patient_card")
        ),
        **{
            f"{scenario}_as_representative_throughput_ratio": ratio(
                rps(large, scenario, AS_REPRESENTATIVE), rps(small, scenario, AS_REPRESENTATIVE)
            )
            for scenario in ("worklist", "patient_card")
        },
        "scan_seconds_ratio": ratio(
            large["missed_visit_scan"]["scan_seconds"], small["missed_visit_scan"]["scan_seconds"]
        ),
        "single_update_seconds_ratio": ratio(
            large["missed_visit_scan"]["single_update_seconds"],
            small["missed_visit_scan"]["single_update_seconds"],
        ),
    }


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        memory_gib = round(int(memory) / 1024 / 1024, 1)
    except OSError:
        memory_gib = 0.0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--patients", type=int, action="append", help="region size (repeatable)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=15, help="load duration per server")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--rounds", type=int, default=3, help="load rounds per server, the order alternating"
    )
    parser.add_argument("--record-batches", type=int, default=20)
    parser.add_argument(
        "--messages",
        type=int,
        default=100_000,
        help="no-op messages, and due reminders through the pipeline, per broker",
    )
    parser.add_argument("--worker-threads", type=int, default=4)
    parser.add_argument(
        "--redis", default=os.environ.get("DISPENSARY_BENCH_REDIS", "redis://127.0.0.1:6379/7")
    )
    parser.add_argument(
        "--rabbitmq",
        default=os.environ.get(
            "DISPENSARY_BENCH_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672/%2F"
        ),
    )
    parser.add_argument("--no-postgraphile", dest="postgraphile", action="store_false")
    parser.add_argument("--no-brokers", dest="brokers", action="store_false")
    parser.add_argument(
        "--no-sizes",
        dest="sizes",
        action="store_false",
        help="no region: only the broker scenarios (no-op actor and reminder pipeline)",
    )
    parser.add_argument(
        "--database-prefix",
        default="bench",
        help="databases are named <prefix>_p<patients> and <prefix>_pipeline_<broker>",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated databases")
    parser.add_argument(
        "--output", type=Path, help="results file (default: bench/results/<date>-<sizes>.json)"
    )
    args = parser.parse_args(argv)
    args.patients = (args.patients or [100_000]) if args.sizes else []
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "seed": args.seed,
        "sizes": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        for patients in args.patients:
            report["sizes"].append(measure_size(patients, args, Path(scratch)))
        report["growth"] = growth(report["sizes"])
        report["reminder_pipeline"] = (
            broker_scenarios(args, Path(scratch)) if args.brokers else None
        )
    report["seconds"] = round(time.perf_counter() - started, 1)
    sizes = "-".join(str(size) for size in args.patients) or f"brokers-{args.messages}"
    output = args.output or RESULTS / f"{datetime.now(UTC):%Y-%m-%d}-{sizes}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"results: {output}", flush=True)
    return report


if __name__ == "__main__":
    main()
