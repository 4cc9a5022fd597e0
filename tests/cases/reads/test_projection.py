"""SQL that writes what Python writes: a compiled read's cursors, as PostgreSQL builds them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from cases.kit.columns import UtcDateTime
from cases.kit.paging import SortKey, encode_cursor
from cases.reads.projection import cursor
from core.db import create_engine
from core.settings import Settings

ROWS: list[tuple[Any, ...]] = [
    (
        1,
        date(2026, 11, 20),
        datetime(2026, 11, 20, 9, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
    ),
    # long enough that PostgreSQL's base64 breaks its line (every 76 characters)
    (
        9_223_372_036_854_775_807,
        date(1999, 12, 31),
        datetime(2026, 11, 20, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2000, 2, 29, 0, 0, 0, 1, tzinfo=UTC),
    ),
    # a key without a value
    (-1, date(2026, 12, 1), datetime(2026, 12, 1, 23, 58, 59, 60_000, tzinfo=UTC), None),
]


async def test_a_cursor_built_by_postgresql_is_the_one_python_encodes(postgresql_url: str) -> None:
    # given: rows of every kind of sort key, one of them long, read through a VALUES list
    table = (
        sa.values(
            sa.column("id", sa.BigInteger),
            sa.column("day", sa.Date),
            sa.column("at", UtcDateTime),
            sa.column("later", UtcDateTime),
            name="keys",
        )
        .data(ROWS)
        .alias("keys")
    )
    keys = [SortKey(table.c.at), SortKey(table.c.day), SortKey(table.c.later), SortKey(table.c.id)]
    statement = sa.select(cursor(keys, table)).select_from(table).order_by(table.c.id)
    engine = create_engine(Settings(database_url=postgresql_url))
    try:
        # when
        async with engine.connect() as connection:
            written = (await connection.execute(statement)).scalars().all()
    finally:
        await engine.dispose()

    # then
    expected = [encode_cursor((at, day, later, id_)) for id_, day, at, later in sorted(ROWS)]
    assert written == expected
    assert any(len(found) > 76 for found in written)
