"""The embedded mode as a newcomer runs it: `dispensary serve` on a fresh SQLite file, then `seed-demo`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.stand_ins import free_port


@dataclass
class Served:
    process: subprocess.Popen[str]
    env: dict[str, str]
    token: str
    printed: list[str]

    def stop(self) -> str:
        """Everything the server printed."""
        self.process.terminate()
        rest, _ = self.process.communicate(timeout=20)
        return "".join(self.printed) + rest


def start_serve(folder: Path, port: int) -> Served:
    """`dispensary serve` in `folder` with the default (embedded) configuration, once it answers."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(folder)}
    server = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert server.stdout is not None
    printed: list[str] = []
    # The server prints its development token before it listens.
    for line in server.stdout:
        printed.append(line)
        if '"Authorization": "Bearer ' in line:
            break
    token = printed[-1].split("Bearer ")[1].split('"')[0]
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return Served(server, env, token, printed)
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError("the server did not come up")


def test_serve_then_seed_demo_gives_a_readable_region(tmp_path: Path) -> None:
    # given: nothing but an empty folder and the default (embedded) configuration
    port = free_port()
    served = start_serve(tmp_path, port)
    env = served.env
    base = f"http://127.0.0.1:{port}"
    try:
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
            headers={"Authorization": f"Bearer {served.token}"},
            timeout=10,
        )
    finally:
        output = served.stop()

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


async def _due_reminder(folder: Path) -> None:
    """A patient in a zone where it is daytime now, with an SMS reminder due a minute ago."""
    from datetime import timedelta

    from cases.kit.columns import utcnow
    from core.db import create_engine, create_session_factory
    from core.settings import Settings
    from tests.factories import Region, daytime_zone

    # The served scheduler sends on the real clock: the zone is one where it is daytime now.
    now = utcnow()
    zone = daytime_zone(now)
    engine = create_engine(Settings(database_url=f"sqlite:///{folder / 'dispensary.sqlite3'}"))
    async with create_session_factory(engine)() as session:
        region = Region(session)
        insurer, clinic, representative = await region.basics()
        patient = await region.patient(insurer, phone="+79280000009", time_zone=zone)
        case = await region.case(patient, clinic, representative)
        visit = await region.visit(case, now.date() + timedelta(days=20))
        await region.reminder(case, visit, now - timedelta(minutes=1))
        await session.commit()
    await engine.dispose()


def test_the_embedded_serve_runs_the_whole_reminder_pipeline(tmp_path: Path) -> None:
    # given: a migrated embedded store holding one due reminder
    import asyncio

    migrated = subprocess.run(
        [sys.executable, "-m", "api", "migrate"],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    asyncio.run(_due_reminder(tmp_path))
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    # when: serve runs, with nothing else installed
    served = start_serve(tmp_path, port)
    try:
        status = None
        for _ in range(300):
            answer = httpx.post(
                f"{base}/graphql",
                json={"query": "{ reminders { edges { node { status providerMessageId } } } }"},
                headers={"Authorization": f"Bearer {served.token}"},
                timeout=5,
            ).json()
            status = answer["data"]["reminders"]["edges"][0]["node"]["status"]
            if status == "DELIVERED":
                break
            time.sleep(0.2)
        anonymous = httpx.get(f"{base}/dev/sms-gateway/messages", timeout=5)
        messages = httpx.get(
            f"{base}/dev/sms-gateway/messages",
            headers={"Authorization": f"Bearer {served.token}"},
            timeout=5,
        ).json()
    finally:
        output = served.stop()

    # then: the scheduler dispatched it, the worker sent it, the receipt came back
    assert status == "DELIVERED", output
    assert [message["to"] for message in messages] == ["+79280000009"]
    # what the gateway took (numbers, texts) is the administrator's to read, nobody else's
    assert anonymous.status_code == 401
    assert "+7928" not in anonymous.text
    assert "Traceback" not in output
