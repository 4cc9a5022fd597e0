"""Load from a separate process at fixed concurrency: wrk, or a small Python client without it."""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import httpx

from bench.processes import auth_headers

# wrk sends the bodies round-robin, one line per request: its Authorization header, a tab, its
# JSON document; and prints its summary as JSON.
WRK_SCRIPT = """
local bodies, callers, count, next_index = {}, {}, 0, 0
function init(args)
  for line in io.lines(args[1]) do
    local tab = string.find(line, "\t", 1, true)
    count = count + 1
    callers[count] = string.sub(line, 1, tab - 1)
    bodies[count] = string.sub(line, tab + 1)
  end
end
function request()
  next_index = next_index % count + 1
  return wrk.format("POST", nil,
    {["Content-Type"] = "application/json", ["Authorization"] = callers[next_index]},
    bodies[next_index])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"errors":%d,"non_2xx":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


CALLER: Final = "caller"
"""A body's key naming its caller (an Authorization header): sent as the header, not in the body.
A body without one is sent as the benchmark's administrator (`bench.processes.auth_headers`)."""


def request_of(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A body's Authorization header and the document to send."""
    document = {key: value for key, value in body.items() if key != CALLER}
    return body.get(CALLER) or auth_headers()["Authorization"], document


@dataclass(frozen=True)
class LoadResult:
    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    tool: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    url: str, bodies: Sequence[dict[str, Any]], seconds: int, connections: int, work: Path
) -> LoadResult:
    script, lines = work / "bodies.lua", work / "bodies.jsonl"
    script.write_text(WRK_SCRIPT)
    requests = [request_of(body) for body in bodies]
    lines.write_text(
        "".join(
            f"{caller}\t{json.dumps(document, ensure_ascii=False)}\n"
            for caller, document in requests
        )
    )
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
         "-s", str(script), url, "--", str(lines)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    summary = json.loads(output.strip().splitlines()[-1])
    return LoadResult(
        requests=summary["requests"],
        requests_per_second=round(summary["requests"] / (summary["duration_us"] / 1e6), 1),
        p50_ms=round(summary["p50_us"] / 1000, 2),
        p99_ms=round(summary["p99_us"] / 1000, 2),
        errors=summary["errors"] + summary["non_2xx"],
        tool="wrk",
    )


async def _python_load(
    url: str, bodies: Sequence[dict[str, Any]], seconds: float, connections: int
) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    counter = iter(range(10**12))

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            caller, document = request_of(bodies[next(counter) % len(bodies)])
            started = time.perf_counter()
            response = await http.post(url, json=document, headers={"Authorization": caller})
            latencies.append(time.perf_counter() - started)
            errors += response.status_code != 200

    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as http:
        await asyncio.gather(*(client(http) for _ in range(connections)))
    elapsed = time.monotonic() - started
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return LoadResult(
        requests=len(latencies),
        requests_per_second=round(len(latencies) / elapsed, 1),
        p50_ms=round(cuts[49] * 1000, 2),
        p99_ms=round(cuts[98] * 1000, 2),
        errors=errors,
        tool="python",
    )


def run_load(
    url: str, bodies: Sequence[dict[str, Any]], seconds: int, connections: int, work: Path
) -> LoadResult:
    """wrk where it is installed (the real runs); a Python client otherwise (the smoke test)."""
    if wrk_available():
        return run_wrk(url, bodies, seconds, connections, work)
    return asyncio.run(_python_load(url, bodies, seconds, connections))
