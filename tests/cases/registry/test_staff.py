"""Staff onboarding: the administrator and an insurer's own supervisor register, change, link,
deactivate representatives and set their desk hours; every change is audited."""

from __future__ import annotations

from datetime import time

import pytest
import sqlalchemy as sa

from cases.audit.models import AuditEvent
from cases.kit.actor import Actor, Role
from cases.kit.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from cases.kit.paging import PageRequest
from cases.registry.models import DeskHours, Representative
from cases.registry.repository import RepresentativeFilter
from cases.registry.staff import Desk, StaffDraft, StaffService
from tests.conftest import RolledBackDatabase
from tests.factories import Region

ADMIN = Actor(role=Role.ADMIN, label="admin")
NEW = StaffDraft(level=3, last_name="Петрова", first_name="Анна", phone="8 (928) 111-22-33")


def supervisor_of(insurer_id: int) -> Actor:
    return Actor(role=Role.SUPERVISOR, label="supervisor:1", insurer_id=insurer_id)


async def test_the_administrator_registers_a_representative(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        insurer, _clinic, _rep = await Region(session).basics()

        registered = await StaffService(session).register(ADMIN, insurer.id, NEW, subject="kc-anna")
        events = (await session.execute(sa.select(AuditEvent.action))).scalars().all()

    assert (registered.level, registered.last_name, registered.phone) == (
        3,
        "Петрова",
        "+79281112233",
    )
    assert (registered.subject, registered.active, registered.is_supervisor) == (
        "kc-anna",
        True,
        False,
    )
    assert "representative.register" in events


async def test_a_supervisor_manages_their_own_insurer_only(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        region = Region(session)
        ours, _, _ = await region.basics()
        theirs, _, their_rep = await region.basics()
        staff = StaffService(session)

        mine = await staff.register(supervisor_of(ours.id), ours.id, NEW)
        with pytest.raises(PermissionDenied):
            await staff.register(supervisor_of(ours.id), theirs.id, NEW)
        with pytest.raises(PermissionDenied):
            await staff.deactivate(supervisor_of(ours.id), their_rep.id)
        with pytest.raises(PermissionDenied):
            await staff.register(
                Actor(role=Role.REPRESENTATIVE, label="representative:9", insurer_id=ours.id),
                ours.id,
                NEW,
            )
    assert mine.insurer_id == ours.id


async def test_a_login_links_to_one_representative(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        insurer, _clinic, representative = await Region(session).basics()
        staff = StaffService(session)
        other = await staff.register(ADMIN, insurer.id, NEW)

        await staff.link(ADMIN, representative.id, "kc-first")
        with pytest.raises(Conflict) as taken:
            await staff.link(ADMIN, other.id, "kc-first")
        with pytest.raises(ValidationFailed):
            await staff.link(ADMIN, other.id, "bad\x00subject")
        unlinked, subject = await staff.unlink(ADMIN, representative.id)
        relinked = await staff.link(ADMIN, other.id, "kc-first")

    assert taken.value.field == "subject"
    assert (unlinked.subject, subject, relinked.subject) == (None, "kc-first", "kc-first")


async def test_changes_and_deactivation(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        _insurer, _clinic, representative = await Region(session).basics()
        staff = StaffService(session)

        changed = await staff.update(
            ADMIN, representative.id, StaffDraft(level=2, is_supervisor=True, email="A@B.example")
        )
        with pytest.raises(ValidationFailed) as bad_level:
            await staff.update(ADMIN, representative.id, StaffDraft(level=4))
        deactivated = await staff.deactivate(ADMIN, representative.id)
        with pytest.raises(NotFound):
            await staff.deactivate(ADMIN, 10**12)
        actions = (await session.execute(sa.select(AuditEvent.action))).scalars().all()

    assert (changed.level, changed.is_supervisor, changed.email) == (2, True, "A@b.example")
    assert bad_level.value.field == "level"
    assert deactivated.active is False
    assert {"representative.update", "representative.deactivate"} <= set(actions)


async def test_desk_hours_are_replaced_and_found_by_clinic(db: RolledBackDatabase) -> None:
    async with db.session() as session:
        region = Region(session)
        _insurer, clinic, representative = await region.basics()
        _, elsewhere, _ = await region.basics()
        staff = StaffService(session)

        await staff.set_desks(ADMIN, representative.id, [Desk(elsewhere.id, 0, time(9), time(12))])
        await staff.set_desks(
            ADMIN,
            representative.id,
            [Desk(clinic.id, 1, time(9), time(13)), Desk(clinic.id, 3, time(14), time(18))],
        )
        with pytest.raises(ValidationFailed) as reversed_hours:
            await staff.set_desks(ADMIN, representative.id, [Desk(clinic.id, 1, time(13), time(9))])
        desks = (
            await session.execute(
                sa.select(DeskHours.clinic_id, DeskHours.weekday).order_by(DeskHours.weekday)
            )
        ).all()
        at_clinic = staff.page_query(
            RepresentativeFilter(clinic_id=clinic.id), PageRequest.of(10, None)
        )
        found = (await session.execute(at_clinic.statement)).scalars().all()
        at_elsewhere = staff.page_query(
            RepresentativeFilter(clinic_id=elsewhere.id), PageRequest.of(10, None)
        )
        none = (await session.execute(at_elsewhere.statement)).scalars().all()

    assert [tuple(row) for row in desks] == [(clinic.id, 1), (clinic.id, 3)]
    assert reversed_hours.value.field == "desks.0.ends_at"
    assert [r.id for r in found] == [representative.id]
    assert none == []
    assert isinstance(found[0], Representative)
