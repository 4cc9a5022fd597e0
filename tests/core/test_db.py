"""The engine hands out no connection the server has closed, without a round trip to ask."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import async_sessionmaker

from cases.reads.driver import DriverStatement, on_driver
from core.db import create_engine
from core.settings import Settings
from tests.conftest import eventually


async def test_a_connection_the_server_closed_is_replaced_at_checkout(postgresql_url: str) -> None:
    # given: a pool of one connection, which an administrator terminates while it waits
    engine = create_engine(Settings(database_url=postgresql_url), pool_size=1, max_overflow=0)
    administrator = create_engine(Settings(database_url=postgresql_url), pool_size=1)
    statements: list[str] = []
    sa.event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_: statements.append(statement),
    )
    try:
        async with engine.connect() as connection:
            first = (await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
            waiting = (await connection.get_raw_connection()).driver_connection
        assert waiting is not None
        async with administrator.connect() as connection:
            await connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        # the closed socket reaches the waiting connection
        assert await eventually(waiting.is_closed, within=5)
        statements.clear()

        # when
        async with engine.connect() as connection:
            second = (await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()

        # then: a new connection, and no statement spent on asking whether the old one lived
        assert second != first
        assert statements == ["SELECT pg_backend_pid()"]
    finally:
        await engine.dispose()
        await administrator.dispose()


async def test_a_statement_cancelled_on_its_own_connection_leaves_the_pool_usable(
    postgresql_url: str,
) -> None:
    # given: a pool of one connection, and a statement run on it that is cancelled midway
    engine = create_engine(Settings(database_url=postgresql_url), pool_size=1, max_overflow=0)
    administrator = create_engine(Settings(database_url=postgresql_url), pool_size=1)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    dialect = asyncpg_dialect()  # type: ignore[no-untyped-call]
    slow = DriverStatement.of(sa.select(sa.func.pg_sleep(5)), dialect)
    quick = DriverStatement.of(sa.select(sa.literal(1, sa.Integer)), dialect)

    async def sleeping() -> bool:
        """Whether the slow statement runs on the server."""
        async with administrator.connect() as connection:
            found = await connection.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND state = 'active'"
                    " AND query LIKE 'SELECT pg_sleep(%'"
                )
            )
            return bool(found.scalar_one())

    try:
        async with sessions() as session:
            running = asyncio.create_task(on_driver(session, slow, {}))
            assert await eventually(sleeping, within=5)
            running.cancel()
            with pytest.raises(asyncio.CancelledError):
                await running

        # when
        async with sessions() as session:
            rows = await asyncio.wait_for(on_driver(session, quick, {}), timeout=3)

        # then
        assert [tuple(row) for row in rows] == [(1,)]
    finally:
        await engine.dispose()
        await administrator.dispose()
