"""The embedded mode as a newcomer runs it: `dispensary serve` on a fresh SQLite file, then `seed-demo`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_then_seed_demo_gives_a_readable_region(tmp_path: Path) -> None:
    # given: nothing but an empty folder and the default (embedded) configuration
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    printed: list[str] = []
    try:
        assert server.stdout is not None
        # The server prints its development token before it listens.
        for line in server.stdout:
            printed.append(line)
            if '"Authorization": "Bearer ' in line:
                break
        token = printed[-1].split("Bearer ")[1].split('"')[0]
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("the server did not come up")

        # when
        seeded = subprocess.run(
            [sys.executable, "-m", "api", "seed-demo", "--patients", "30", "--seed", "3"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        graphiql = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"}, timeout=5)
        ready = httpx.get(f"{base}/readyz", timeout=5)
        query = {"query": "{ insurers { totalCount } supervisionCases(first: 1) { totalCount } }"}
        anonymous = httpx.post(f"{base}/graphql", json=query, timeout=10)
        answer = httpx.post(
            f"{base}/graphql",
            json=query,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    finally:
        server.terminate()
        rest, _ = server.communicate(timeout=20)
        output = "".join(printed) + rest

    # then
    assert seeded.returncode == 0, seeded.stderr
    assert (tmp_path / "dispensary.sqlite3").exists()
    assert "graphiql" in graphiql.text.lower()
    assert ready.json() == {"status": "ready"}
    assert anonymous.status_code == 401
    assert answer.json()["data"]["insurers"]["totalCount"] == 2
    assert answer.json()["data"]["supervisionCases"]["totalCount"] > 0
    assert f"GraphiQL: open http://127.0.0.1:{port}/graphql" in output
    assert "Traceback" not in output
