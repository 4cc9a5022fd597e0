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


def test_api_key_create_list_revoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given: a migrated store with one clinic
    import asyncio

    from cases.registry.models import MedicalOrganization
    from core.db import create_engine, create_session_factory
    from core.migrate import upgrade
    from core.settings import Settings

    url = f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    monkeypatch.setenv("DISPENSARY_DATABASE_URL", url)
    upgrade(Settings().database_url)

    async def add_clinic() -> None:
        engine = create_engine(Settings())
        async with create_session_factory(engine)() as session:
            session.add(MedicalOrganization(code="260001", name="Поликлиника № 1"))
            await session.commit()
        await engine.dispose()

    asyncio.run(add_clinic())

    # when
    created = runner.invoke(
        app, ["api-key", "create", "--clinic", "260001", "--scope", "visits:write"]
    )
    prefix = created.output.split("key prefix: ")[1].split()[0]
    listed = runner.invoke(app, ["api-key", "list"])
    revoked = runner.invoke(app, ["api-key", "revoke", prefix])
    again = runner.invoke(app, ["api-key", "revoke", prefix])
    bad_scope = runner.invoke(app, ["api-key", "create", "--clinic", "260001", "--scope", "all"])

    # then
    assert created.exit_code == 0, created.output
    key = created.output.split("store it now): ")[1].split()[0]
    assert key.startswith(f"dsp_{prefix}_")
    assert prefix in listed.output
    assert "visits:write" in listed.output
    assert key not in listed.output
    assert revoked.exit_code == 0
    assert again.exit_code == 2
    assert "revoked already" in again.output
    assert bad_scope.exit_code == 2
    assert "scopes must be among" in bad_scope.output


def test_a_rule_over_two_settings_names_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPENSARY_QUIET_HOURS_START", "21:00")

    result = runner.invoke(app, ["migrate"])

    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "dispensary: invalid settings: DISPENSARY_QUIET_HOURS_START (21:00) must be before "
        "DISPENSARY_QUIET_HOURS_END (20:00)"
    ]


def test_production_with_the_development_key_secret_names_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISPENSARY_ENVIRONMENT", "production")
    monkeypatch.delenv("DISPENSARY_API_KEY_SECRET", raising=False)

    result = runner.invoke(app, ["migrate"])

    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "dispensary: invalid settings: set DISPENSARY_API_KEY_SECRET in production"
    ]
