"""A change in a savepoint: undone whole when it fails; the database's refusals are Conflicts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cases.kit.errors import Conflict
from cases.kit.savepoints import in_savepoint
from cases.patients.models import Patient
from cases.registry.models import Insurer
from tests.conftest import RolledBackDatabase
from tests.factories import Region, save


async def test_a_unique_key_the_database_refuses_is_a_conflict_and_undoes_the_change(
    db: RolledBackDatabase,
) -> None:
    async with db.session() as session:
        # given
        await save(session, Insurer(code="SMO-A", name="СМО А"))

        async def register_twice() -> None:
            session.add(Insurer(code="SMO-B", name="СМО Б"))
            await session.flush()
            session.add(Insurer(code="SMO-A", name="СМО А again"))
            await session.flush()

        # when
        with pytest.raises(Conflict):
            await in_savepoint(session, register_twice)

        # then: the transaction goes on, without any of the failed change's rows
        codes = (await session.execute(sa.select(Insurer.code))).scalars().all()
    assert sorted(codes) == ["SMO-A"]


async def test_a_row_changed_meanwhile_is_a_conflict(db: RolledBackDatabase) -> None:
    async with db.session() as session, db.session() as other:
        # given: the same patient loaded by two sessions, changed and committed by the other
        region = Region(session)
        insurer, _clinic, _representative = await region.basics()
        patient = await region.patient(insurer)
        await session.commit()
        theirs = await other.get(Patient, patient.id)
        assert theirs is not None
        theirs.email = "theirs@example.test"
        await other.commit()

        async def change_stale_copy() -> None:
            patient.email = "mine@example.test"
            await session.flush()

        # when / then
        with pytest.raises(Conflict):
            await in_savepoint(session, change_stale_copy)


async def test_a_change_that_succeeds_is_kept(db: RolledBackDatabase) -> None:
    async with db.session() as session:

        async def register() -> str:
            session.add(Insurer(code="SMO-C", name="СМО В"))
            await session.flush()
            return "done"

        assert await in_savepoint(session, register) == "done"
        assert (await session.execute(sa.select(Insurer.code))).scalars().all() == ["SMO-C"]
