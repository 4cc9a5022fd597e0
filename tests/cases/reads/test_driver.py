"""Statements sent through asyncpg directly: the values pass their types' bind processing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from cases.reads.driver import DriverStatement, DriverStatements, _compile, _takes_every_value
from cases.worklist.models import WorkItem, WorkItemKind

WORK_ITEM = WorkItem.__table__
MOSCOW = timezone(timedelta(hours=3))


def statement() -> sa.Select[tuple[int]]:
    return sa.select(WORK_ITEM.c.id).where(
        WORK_ITEM.c.kind == sa.bindparam("kind", type_=WORK_ITEM.c.kind.type, required=False),
        WORK_ITEM.c.due_at < sa.bindparam("due", type_=WORK_ITEM.c.due_at.type, required=False),
        WORK_ITEM.c.id.in_([1, 2, 3]),
        WORK_ITEM.c.priority == 1,
    )


def test_values_given_per_run_pass_their_types_bind_processing() -> None:
    # given
    compiled = DriverStatement.of(statement(), asyncpg_dialect())  # type: ignore[no-untyped-call]

    # when
    arguments = compiled.arguments(
        {"kind": WorkItemKind.CALL_DUE, "due": datetime(2026, 11, 20, 12, tzinfo=MOSCOW)}
    )

    # then: the enumeration by its value, the instant in UTC, the IN list one value a parameter
    assert arguments == (
        "call_due",
        datetime(2026, 11, 20, 9, tzinfo=UTC),
        1,
        1,
        2,
        3,
    )
    with pytest.raises(ValueError, match="naive"):
        compiled.arguments({"kind": WorkItemKind.CALL_DUE, "due": datetime(2026, 11, 20, 12)})


def test_values_written_into_the_statement_pass_it_too() -> None:
    at = datetime(2026, 11, 20, 12)  # naive: refused by the column's type, as SQLAlchemy would
    with pytest.raises(ValueError, match="naive"):
        DriverStatement.of(
            sa.select(WORK_ITEM.c.id).where(WORK_ITEM.c.due_at < at),
            asyncpg_dialect(),  # type: ignore[no-untyped-call]
        )


def written(statement: DriverStatement) -> tuple[object, ...]:
    """What a driver statement sends: its text, its parameters, their values and which of them
    are processed (processors are functions made anew each time)."""
    return statement.sql, statement.names, statement.defaults, statement.processors.keys()


def listing(owner: int, kinds: list[WorkItemKind], first: int) -> sa.Select[tuple[int]]:
    return (
        sa.select(WORK_ITEM.c.id)
        .where(
            WORK_ITEM.c.owner_id == owner,
            WORK_ITEM.c.kind.in_(kinds),
            WORK_ITEM.c.due_at < sa.bindparam("due", type_=WORK_ITEM.c.due_at.type),
        )
        .limit(first)
    )


def test_statements_of_one_shape_share_a_compilation_and_keep_their_own_values() -> None:
    # given
    dialect = asyncpg_dialect()  # type: ignore[no-untyped-call]
    shapes = DriverStatements(8)
    shapes.of(listing(7, [WorkItemKind.CALL_DUE], 50), dialect)
    other = listing(9, [WorkItemKind.MISSED_VISIT], 20)

    # when
    found = shapes.of(other, dialect)

    # then: what compiling it anew gives, without compiling it
    assert written(found) == written(DriverStatement.of(other, dialect))
    assert len(shapes) == 1
    due = datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert found.arguments({"due": due}) == (9, due, 20, "missed_visit")


def test_a_list_of_another_length_is_written_out_for_its_own_values() -> None:
    dialect = asyncpg_dialect()  # type: ignore[no-untyped-call]
    shapes = DriverStatements(8)
    one = shapes.of(listing(7, [WorkItemKind.CALL_DUE], 50), dialect)
    two = shapes.of(listing(7, [WorkItemKind.CALL_DUE, WorkItemKind.MISSED_VISIT], 50), dialect)

    assert written(two) == written(
        DriverStatement.of(
            listing(7, [WorkItemKind.CALL_DUE, WorkItemKind.MISSED_VISIT], 50), dialect
        )
    )
    assert len(two.names) == len(one.names) + 1


def test_a_value_of_a_statement_of_a_known_shape_passes_its_types_bind_processing() -> None:
    dialect = asyncpg_dialect()  # type: ignore[no-untyped-call]
    shapes = DriverStatements(8)

    def due_before(at: datetime) -> sa.Select[tuple[int]]:
        return sa.select(WORK_ITEM.c.id).where(WORK_ITEM.c.due_at < at)

    shapes.of(due_before(datetime(2026, 11, 20, 12, tzinfo=MOSCOW)), dialect)
    with pytest.raises(ValueError, match="naive"):
        shapes.of(due_before(datetime(2026, 11, 20, 12)), dialect)


def test_a_value_a_statement_gives_is_not_taken_for_one_awaited_at_run_time() -> None:
    # given: two statements alike but that one awaits the owner's value when it runs
    dialect = asyncpg_dialect()  # type: ignore[no-untyped-call]
    shapes = DriverStatements(8)

    def owned(**value: int) -> sa.Select[tuple[int]]:
        owner = sa.bindparam("owner", type_=WORK_ITEM.c.owner_id.type, **value)
        return sa.select(WORK_ITEM.c.id).where(WORK_ITEM.c.owner_id == owner)

    awaited = shapes.of(owned(), dialect)

    # when
    given = shapes.of(owned(value=5), dialect)

    # then
    assert given.arguments({}) == (5,)
    assert awaited.arguments({"owner": 7}) == (7,)


def test_a_shape_is_kept_only_if_every_value_comes_from_the_statement_given() -> None:
    # given a statement compiled with its cache key, and its values counted
    statement = listing(7, [WorkItemKind.CALL_DUE], 50)
    key = statement._generate_cache_key()
    assert key is not None
    compiled = _compile(statement, asyncpg_dialect(), key)  # type: ignore[no-untyped-call]

    # then: all of them are taken from another statement's; one left out would be kept
    assert _takes_every_value(compiled, len(key.bindparams))
    assert not _takes_every_value(compiled, len(key.bindparams) - 1)
