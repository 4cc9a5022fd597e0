"""Statements sent through asyncpg directly: the values pass their types' bind processing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from cases.models import WorkItem, WorkItemKind
from cases.repository import DriverStatement

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
