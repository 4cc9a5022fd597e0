"""The Alembic history upgrades and downgrades cleanly, and matches the models exactly."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cases.metadata import metadata
from core.db import create_engine
from core.migrate import downgrade, upgrade
from core.settings import Settings


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'migrations.sqlite3'}"
    from tests.conftest import (
        DATABASE_PREFIX,
        _create_postgres_database,
        require_service,
        worker_suffix,
    )

    require_service("PostgreSQL", "127.0.0.1", 5432)
    return _create_postgres_database(f"{DATABASE_PREFIX}_migrations_{worker_suffix()}")


def run(url: str, inspect: Any) -> Any:
    async def go() -> Any:
        engine = create_engine(Settings(database_url=url))
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(inspect)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def drift(connection: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def table_names(connection: sa.Connection) -> set[str]:
    return set(sa.inspect(connection).get_table_names()) - {"alembic_version"}


def test_upgrade_matches_the_models(fresh_url: str) -> None:
    # when
    upgrade(fresh_url)

    # then
    assert run(fresh_url, drift) == []
    assert run(fresh_url, table_names) == set(metadata.tables)


def test_downgrade_to_base_and_up_again(fresh_url: str) -> None:
    # given
    upgrade(fresh_url)

    # when
    downgrade(fresh_url, "base")

    # then
    assert run(fresh_url, table_names) == set()
    upgrade(fresh_url)
    assert run(fresh_url, drift) == []


def test_missed_visit_scan_has_its_partial_index(fresh_url: str) -> None:
    # given
    upgrade(fresh_url)

    # when
    indexes = run(fresh_url, lambda connection: sa.inspect(connection).get_indexes("visit"))

    # then
    by_name = {index["name"]: index for index in indexes}
    planned = by_name["ix_visit_planned_window_end"]
    assert planned["column_names"] == ["window_end"]
    where = planned.get("dialect_options", {})
    assert "planned" in str(where.get("postgresql_where") or where.get("sqlite_where"))


def test_appeals_registered_before_0007_are_judged_late_by_their_registration_date(
    fresh_url: str,
) -> None:
    # given: two appeals at 0006, one registered a day after its registration deadline
    upgrade(fresh_url, "0006")
    at = sa.DateTime(timezone=True)
    insurer = sa.table("insurer", sa.column("code"), sa.column("name"), sa.column("created_at", at))
    appeal = sa.table(
        "appeal",
        *(sa.column(name) for name in ("insurer_id", "channel", "kind", "subject", "text")),
        *(sa.column(name) for name in ("status", "version")),
        *(sa.column(name, at) for name in ("received_at", "registered_at")),
        *(sa.column(name, at) for name in ("created_at", "updated_at")),
        *(sa.column(name, sa.Date()) for name in ("registration_due", "answer_due")),
    )
    received = datetime(2026, 11, 1, 9, tzinfo=UTC)

    def insert(connection: sa.Connection) -> None:
        connection.execute(insurer.insert().values(code="S", name="С", created_at=received))
        insurer_id = connection.execute(sa.text("SELECT id FROM insurer")).scalar_one()
        for text, day in (("in time", 3), ("late", 5)):
            registered = datetime(2026, 11, day, 9, tzinfo=UTC)
            connection.execute(
                appeal.insert().values(
                    insurer_id=insurer_id,
                    channel="letter",
                    kind="statement",
                    subject="other",
                    text=text,
                    status="registered",
                    version=1,
                    received_at=received,
                    registered_at=registered,
                    created_at=registered,
                    updated_at=registered,
                    registration_due=date(2026, 11, 4),
                    answer_due=date(2026, 12, 4),
                )
            )
        connection.commit()

    run(fresh_url, insert)

    # when
    upgrade(fresh_url)

    # then
    flags = run(
        fresh_url,
        lambda c: dict(c.execute(sa.text("SELECT text, registered_late FROM appeal")).all()),
    )
    assert {text: bool(late) for text, late in flags.items()} == {"in time": False, "late": True}
