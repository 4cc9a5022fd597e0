"""The Alembic history upgrades and downgrades cleanly, and matches the models exactly."""

from __future__ import annotations

import asyncio
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
