"""SQL that writes what Python writes: a compiled read's global ids, cursors, instants and dates,
as PostgreSQL builds them, against the encoders the general executor uses for the same rows."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlmodel import col
from strawberry import relay
from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY

from cases.kit.columns import UtcDateTime
from cases.kit.paging import SortKey, encode_cursor
from cases.reads.projection import (
    ProjectionReader,
    Shape,
    TextId,
    Unsupported,
    base64_text,
    cursor,
    instant,
    iso_date,
)
from cases.registry.models import Insurer
from cases.tenancy import DataScope
from core.db import create_engine
from core.settings import Settings
from schema.core.scalars import SCALAR_OVERRIDES

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


# Examples are drawn anew on every run and none is kept on disk; the database's answer time
# is no property of the encoders.
PROPERTY = settings(database=None, deadline=None, max_examples=60)

# Every value a BIGINT id column holds.
IDS = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# PostgreSQL's timestamptz and date hold every instant and date Python does (and more: 4713 BC
# to 294276 AD and to 5874897 AD), but asyncpg writes Python's first and last of each as
# -infinity and infinity: see test_the_first_and_last_date_and_instant_are_written_as_the_api_does.
# Every other instant and date is drawn.
FIRST_INSTANT = datetime.min.replace(tzinfo=UTC) + timedelta(microseconds=1)
LAST_INSTANT = datetime.max.replace(tzinfo=UTC) - timedelta(microseconds=1)
DAYS = st.dates(min_value=date.min + timedelta(days=1), max_value=date.max - timedelta(days=1))
# Time zones with and without summer time, offsets of half and quarter hours, and one beyond
# twelve hours: the database session's, which an instant's text must not depend on, and those
# the instants given are written in.
ZONES = st.sampled_from(
    [
        "UTC",
        "Europe/Moscow",
        "Europe/Berlin",
        "America/St_Johns",
        "Asia/Kathmandu",
        "Pacific/Kiritimati",
    ]
)
# A GraphQL type name, long ones too: the prefix of a global id.
TYPE_NAMES = st.from_regex(r"\A[_A-Za-z][_0-9A-Za-z]{0,60}\Z")
# Text PostgreSQL holds: any character UTF-8 encodes (no lone surrogate) but NUL.
TEXTS = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=300
)


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    """An instant anywhere in Python's range, written with an offset where that can be done."""
    utc = draw(st.datetimes(FIRST_INSTANT.replace(tzinfo=None), LAST_INSTANT.replace(tzinfo=None)))
    zone: tzinfo = draw(
        ZONES.map(ZoneInfo)
        | st.integers(-24 * 60 + 1, 24 * 60 - 1).map(
            lambda minutes: timezone(timedelta(minutes=minutes))
        )
    )
    try:
        return utc.replace(tzinfo=UTC).astimezone(zone)
    except OverflowError:  # the local time would fall outside years 1 to 9999
        return utc.replace(tzinfo=UTC)


# The kinds of sort key a compiled read's cursor is built of, with the values a row holds.
KEY_KINDS: dict[str, tuple[Any, st.SearchStrategy[Any]]] = {
    "id": (sa.BigInteger(), IDS),
    "day": (sa.Date(), DAYS),
    "at": (UtcDateTime(), instants()),
}


def written_by_the_api(value: date | datetime) -> str:
    """`value` as the API writes it: with the project's DateTime scalar, or strawberry's Date."""
    kind = type(value)
    scalar = SCALAR_OVERRIDES.get(kind) or DEFAULT_SCALAR_REGISTRY[kind]
    assert scalar.serialize is not None
    return str(scalar.serialize(value))


@pytest.fixture(scope="module")
async def engine(postgresql_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(Settings(database_url=postgresql_url))
    yield engine
    await engine.dispose()


async def in_zone(connection: AsyncConnection, zone: str) -> None:
    await connection.execute(sa.text(f"SET TIME ZONE '{zone}'"))


def table_of(columns: Sequence[tuple[str, Any]], rows: Sequence[tuple[Any, ...]]) -> sa.Subquery:
    """`rows` as a table of typed columns: bound as the columns' types bind values, and of their
    type even where a column holds nulls only (which a VALUES list alone leaves untyped)."""
    values = sa.values(*(sa.column(name, kind) for name, kind in columns), name="given")
    given = values.data(list(rows))
    typed = (sa.cast(given.c[name], kind).label(name) for name, kind in columns)
    return sa.select(*typed).subquery("keys")


async def test_a_cursor_built_by_postgresql_is_the_one_python_encodes(engine: AsyncEngine) -> None:
    # given: rows of every kind of sort key, one of them long, read through a VALUES list
    table = table_of(
        [("id", sa.BigInteger), ("day", sa.Date), ("at", UtcDateTime), ("later", UtcDateTime)],
        ROWS,
    )
    keys = [SortKey(table.c.at), SortKey(table.c.day), SortKey(table.c.later), SortKey(table.c.id)]
    statement = sa.select(cursor(keys, table)).select_from(table).order_by(table.c.id)

    # when
    async with engine.connect() as connection:
        written = (await connection.execute(statement)).scalars().all()

    # then
    expected = [encode_cursor((at, day, later, id_)) for id_, day, at, later in sorted(ROWS)]
    assert written == expected
    assert any(len(found) > 76 for found in written)


@st.composite
def keyed_rows(draw: st.DrawFn) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The kinds of an ordering's keys (the last, as every ordering's, the id) and rows of them,
    any key but the id without a value now and then."""
    kinds = [*draw(st.lists(st.sampled_from(list(KEY_KINDS)), max_size=6)), "id"]
    values = [
        KEY_KINDS[kind][1] if position == len(kinds) - 1 else st.none() | KEY_KINDS[kind][1]
        for position, kind in enumerate(kinds)
    ]
    rows = draw(st.lists(st.tuples(*values), min_size=1, max_size=10))
    return kinds, rows


@PROPERTY
@given(ordering=keyed_rows(), zone=ZONES)
@example(
    ordering=(
        ["at", "day", "at", "id"],
        [
            (FIRST_INSTANT, date(1, 1, 2), LAST_INSTANT, -(2**63)),
            (LAST_INSTANT, date(9999, 12, 30), FIRST_INSTANT, 2**63 - 1),
            (None, None, None, 0),
        ],
    ),
    zone="Pacific/Kiritimati",
)
async def test_any_cursor_postgresql_builds_is_the_one_python_encodes(
    engine: AsyncEngine, ordering: tuple[list[str], list[tuple[Any, ...]]], zone: str
) -> None:
    # given: rows of sort keys of every kind, read back as the executor reads them
    kinds, rows = ordering
    names = [f"k{position}" for position in range(len(kinds))]
    table = table_of(
        [(name, KEY_KINDS[kind][0]) for name, kind in zip(names, kinds, strict=True)], rows
    )
    keys = [SortKey(table.c[name]) for name in names]

    # when
    async with engine.connect() as connection:
        await in_zone(connection, zone)
        found = (await connection.execute(sa.select(cursor(keys, table), *table.c))).all()

    # then
    assert [written for written, *_ in found] == [encode_cursor(values) for _, *values in found]


def test_a_cursor_is_built_of_numbers_dates_and_instants_only() -> None:
    # given: a text key, which a cursor of the executor would write with json.dumps
    table = table_of([("name", sa.Text), ("id", sa.BigInteger)], [("Ёж", 1)])

    # when / then: refused, so that no compiled read writes one
    with pytest.raises(Unsupported, match="a cursor over"):
        cursor([SortKey(table.c.name), SortKey(table.c.id)], table)


@PROPERTY
@given(values=st.lists(instants(), min_size=1, max_size=20), zone=ZONES)
@example(
    values=[
        FIRST_INSTANT,
        LAST_INSTANT,
        datetime(1, 1, 1, 0, 0, 1, tzinfo=UTC),
        datetime(999, 5, 6, 1, 2, 3, 500_000, tzinfo=UTC),
        datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=-14))),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=14))),
        # 02:30 in Berlin twice: summer time, then winter time
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    ],
    zone="Europe/Berlin",
)
async def test_an_instant_postgresql_writes_is_the_one_the_api_writes(
    engine: AsyncEngine, values: list[datetime], zone: str
) -> None:
    # given
    table = table_of([("at", UtcDateTime)], [(value,) for value in values])

    # when
    async with engine.connect() as connection:
        await in_zone(connection, zone)
        found = (await connection.execute(sa.select(instant(table.c.at), table.c.at))).all()

    # then: the same text as the DateTime scalar writes of the instant the executor reads
    assert [read for _, read in found] == values
    assert [written for written, _ in found] == [written_by_the_api(read) for _, read in found]


@PROPERTY
@given(values=st.lists(DAYS, min_size=1, max_size=20))
@example(values=[date(1, 1, 2), date(9999, 12, 30), date(99, 2, 3), date(2000, 2, 29)])
async def test_a_date_postgresql_writes_is_the_one_the_api_writes(
    engine: AsyncEngine, values: list[date]
) -> None:
    # given
    table = table_of([("day", sa.Date)], [(value,) for value in values])

    # when
    async with engine.connect() as connection:
        found = (await connection.execute(sa.select(iso_date(table.c.day), table.c.day))).all()

    # then
    assert [read for _, read in found] == values
    assert [written for written, _ in found] == [written_by_the_api(read) for _, read in found]


@pytest.mark.parametrize(
    "value",
    [date.min, date.max, datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)],
    ids=["first date", "last date", "first instant", "last instant"],
)
async def test_the_first_and_last_date_and_instant_are_written_as_the_api_does(
    engine: AsyncEngine, value: date | datetime
) -> None:
    # given
    kind: Any = UtcDateTime() if isinstance(value, datetime) else sa.Date()
    table = table_of([("value", kind)], [(value,)])
    written = instant(table.c.value) if isinstance(value, datetime) else iso_date(table.c.value)

    # when
    async with engine.connect() as connection:
        found = (await connection.execute(sa.select(written, table.c.value))).one()

    # then: read back as it was, and written as the API writes it
    assert found[1] == value
    assert found[0] == written_by_the_api(value)


@PROPERTY
@given(texts=st.lists(TEXTS, min_size=1, max_size=10))
@example(texts=["", "Ё", "𝄞" * 100, "a" * 1000, "Иванов Пётр Сергеевич:42\n\t\\'\"%"])
async def test_base64_of_any_text_is_pythons(engine: AsyncEngine, texts: list[str]) -> None:
    # given
    table = table_of([("text", sa.Text)], [(text,) for text in texts])

    # when
    async with engine.connect() as connection:
        found = (await connection.execute(sa.select(base64_text(table.c.text), table.c.text))).all()

    # then: standard base64 of the UTF-8, padded, on one line
    assert [text for _, text in found] == texts
    assert [written for written, _ in found] == [
        base64.b64encode(text.encode()).decode() for _, text in found
    ]


@PROPERTY
@given(type_name=TYPE_NAMES, ids=st.lists(IDS, min_size=1, max_size=8, unique=True))
@example(type_name="Patient", ids=[0, -1, 1, 2**63 - 1, -(2**63)])
@example(type_name="A" * 61, ids=[-(2**63)])
async def test_a_global_id_built_by_postgresql_is_strawberrys(
    engine: AsyncEngine, type_name: str, ids: list[int]
) -> None:
    # given: rows with those ids, and the statement that answers their ids, as a compiled read
    # of the type asks for them
    shape = Shape(Insurer, (TextId("id", f"{type_name}:"),))
    statement = ProjectionReader.compile(shape, DataScope(unrestricted=True), engine.dialect)
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            session = AsyncSession(bind=connection)
            taken = set(
                (await session.execute(sa.select(Insurer.id).where(col(Insurer.id).in_(ids))))
                .scalars()
                .all()
            )
            session.add_all(
                Insurer(id=id_, code=f"gid-{n}", name="СМО")
                for n, id_ in enumerate(ids)
                if id_ not in taken
            )
            await session.flush()

            # when
            rows = await ProjectionReader(session).rows(statement, ids, {})
        finally:
            await transaction.rollback()

    # then: the ids the executor writes of the same rows
    assert [json.loads(document)["id"] for _, document in rows] == [
        str(relay.GlobalID(type_name, str(id_))) for id_ in ids
    ]
