"""The command line: bad configuration ends with one clear line naming the setting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


def test_unknown_broker_scheme_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPENSARY_BROKER_URL", "kafka://localhost")

    result = runner.invoke(app, ["migrate"])

    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "dispensary: invalid setting DISPENSARY_BROKER_URL: Value error, unknown broker "
        "scheme 'kafka': use memory://, redis:// or amqp://"
    ]


def test_unreachable_database_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPENSARY_DATABASE_URL", "postgresql://app:secret@127.0.0.1:1/dispensary")

    result = runner.invoke(app, ["migrate"])

    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "dispensary: cannot reach the database DISPENSARY_DATABASE_URL="
        "postgresql+asyncpg://app:***@127.0.0.1:1/dispensary: "
    )
    assert "secret" not in result.output


def test_migrate_creates_the_sqlite_file(tmp_path: Path) -> None:
    # A real process, as an operator runs it: no traceback, one line of success.
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    completed = subprocess.run(
        [sys.executable, "-m", "api", "migrate"],
        env={"DISPENSARY_DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().endswith("is up to date")
    assert (tmp_path / "fresh.sqlite3").exists()
