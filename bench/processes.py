"""Servers under test as child processes: started, awaited, measured (peak RSS) and stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def peak_rss_mib(pid: int) -> float | None:
    """The high-water mark of a live process's resident memory (VmHWM), in MiB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time a live process has used so far, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    # After the command name: state is field 3 of stat(5), utime and stime are 14 and 15.
    ticks = int(fields[11]) + int(fields[12])
    return round(ticks / os.sysconf("SC_CLK_TCK"), 2)


@dataclass
class Child:
    """A process the harness started and stops."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def peak_rss_mib(self) -> float | None:
        return peak_rss_mib(self.process.pid)

    def cpu_seconds(self) -> float | None:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Server(Child):
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"


# The API admits no anonymous caller: the benchmark acts as an administrator (the data scope
# is then the whole region), lifts the per-caller rate limit, which would otherwise cap it,
# and the query cost limit, which refuses the patient card at 100 cases × 100 visits.
BENCH_JWT_SECRET = "bench-only-hs256-secret-0123456789abcdef"
BENCH_API_KEY_SECRET = "bench-only-api-key-secret-0123456789"
API_SETTINGS: dict[str, str | int] = {
    "jwt_hs256_secret": BENCH_JWT_SECRET,
    "api_key_secret": BENCH_API_KEY_SECRET,
    "rate_limit_per_minute": 10**9,
    "rate_limit_burst": 10**9,
    "max_query_cost": 10**9,
}
API_ENV = {f"DISPENSARY_{name.upper()}": str(value) for name, value in API_SETTINGS.items()}


def auth_headers() -> dict[str, str]:
    """Sent to every server under test; the floor and PostGraphile ignore it."""
    from api.auth import mint_development_token

    token = mint_development_token(BENCH_JWT_SECRET, subject="bench", roles=["admin"])
    return {"Authorization": f"Bearer {token}"}


def start(
    name: str,
    command: Sequence[str],
    port: int,
    env: dict[str, str],
    logs: Path,
    probe: dict[str, object] | str,
    cwd: Path | None = None,
    within: float = 60.0,
) -> Server:
    """Start a server and wait until it answers `probe` with 200: a GraphQL body, posted to
    `/graphql`, or a path to GET."""
    log = logs / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(command),
            env={**os.environ, **env, **API_ENV},
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )
    server = Server(name, process, log, port)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}; see {log}")
        try:
            if isinstance(probe, str):
                answer = httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=5)
            else:
                answer = httpx.post(server.url, json=probe, headers=auth_headers(), timeout=5)
            if answer.status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{name} did not answer within {within:.0f} s; see {log}")


def api_command(port: int) -> list[str]:
    return [sys.executable, "-m", "api", "serve", "--port", str(port), "--no-background"]


def floor_command(port: int) -> list[str]:
    return uvicorn_command("bench.floor:create_app", port)


def uvicorn_command(factory: str, port: int) -> list[str]:
    """A Starlette app from an app factory (`module:function`), logging warnings only."""
    return [
        sys.executable, "-m", "uvicorn", factory, "--factory", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
