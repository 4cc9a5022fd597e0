"""Control characters are refused in every text a person or a clinic's system enters: a NUL would
fail on PostgreSQL and be stored on SQLite; line breaks are kept only where text has lines."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cases.appeals.models import AppealChannel, AppealKind, AppealSubject
from cases.appeals.service import AppealDraft, AppealService
from cases.kit.actor import Actor, Role
from cases.kit.errors import InvalidValue, ValidationFailed
from cases.kit.paging import PageRequest
from cases.kit.validation import normalize_email, plain_text
from cases.patients.models import Sex
from cases.patients.repository import PatientFilter
from cases.patients.service import PatientDraft, PatientService
from cases.supervision.policy import CaseRules
from cases.supervision.visits import VisitService
from cases.worklist.models import ContactMethod, ContactOutcome
from cases.worklist.service import WorkItemService
from tests.conftest import RolledBackDatabase
from tests.factories import Region, valid_enp

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ADMIN = Actor(role=Role.ADMIN, label="admin")
NUL = "\x00"


def test_plain_text_keeps_lines_only_where_asked() -> None:
    assert plain_text("  Улица Ленина, 1\n кв. 2 ", "address", 100, lines=True) == (
        "Улица Ленина, 1\n кв. 2"
    )
    with pytest.raises(InvalidValue):
        plain_text("MIS\n1", "external_id", 64)
    for control in (NUL, "\x07", "\x1b", "\x7f", "\ud800"):
        with pytest.raises(InvalidValue):
            plain_text(f"a{control}b", "note", 100, lines=True)
    with pytest.raises(InvalidValue):
        normalize_email(f"a{NUL}@example.ru")


async def register_with(session: AsyncSession, region: Region, **fields: Any) -> Any:
    insurer, _clinic, _representative = await region.basics()
    draft = PatientDraft(
        enp=valid_enp(990_000 + len(fields)),
        last_name="Иванов",
        first_name="Пётр",
        birth_date=date(1960, 5, 17),
        sex=Sex.MALE,
        insurer_id=insurer.id,
        **fields,
    )
    return await PatientService(session).register(ADMIN, draft)


async def change_contacts(session: AsyncSession, region: Region, **changes: Any) -> Any:
    insurer, _clinic, _representative = await region.basics()
    patient = await region.patient(insurer)
    return await PatientService(session).update_contacts(
        ADMIN, patient.id, patient.version, changes
    )


async def log_note(session: AsyncSession, region: Region, note: str) -> Any:
    insurer, _clinic, representative = await region.basics()
    patient = await region.patient(insurer)
    return await WorkItemService(session).log_contact_attempt(
        ADMIN,
        patient_id=patient.id,
        method=ContactMethod.CALL,
        outcome=ContactOutcome.NO_ANSWER,
        note=note,
        representative_id=representative.id,
    )


async def register_appeal(session: AsyncSession, region: Region, text: str) -> Any:
    insurer, _clinic, _representative = await region.basics()
    draft = AppealDraft(
        received_at=NOW,
        channel=AppealChannel.LETTER,
        kind=AppealKind.STATEMENT,
        subject=AppealSubject.OTHER,
        text=text,
        insurer_id=insurer.id,
    )
    return await AppealService(session).register(ADMIN, draft, now=NOW)


async def record_visit(session: AsyncSession, region: Region, external_id: str) -> Any:
    insurer, clinic, representative = await region.basics()
    case = await region.case(await region.patient(insurer), clinic, representative)
    return await VisitService(session, CaseRules(clock=lambda: NOW)).record_visit(
        ADMIN,
        clinic_id=clinic.id,
        external_id=external_id,
        case_id=case.id,
        attended=True,
        visit_date=date(2026, 11, 20),
    )


async def search(session: AsyncSession, _region: Region, text: str) -> Any:
    return PatientService(session).page_query(PatientFilter(search=text), PageRequest.of(5, None))


CHANGES: dict[str, Callable[[AsyncSession, Region], Awaitable[Any]]] = {
    "email": lambda s, r: register_with(s, r, email=f"ivanov{NUL}@example.ru"),
    "postal_address": lambda s, r: register_with(s, r, postal_address=f"ул. Мира{NUL}, 1"),
    "postal_address (contacts)": lambda s, r: change_contacts(s, r, postal_address=f"ул.{NUL}"),
    "email (contacts)": lambda s, r: change_contacts(s, r, email=f"x{NUL}@example.ru"),
    "note": lambda s, r: log_note(s, r, f"не дозвонился{NUL}"),
    "text": lambda s, r: register_appeal(s, r, f"Жалоба{NUL} на запись"),
    "external_id": lambda s, r: record_visit(s, r, f"MIS{NUL}1"),
    "search": lambda s, r: search(s, r, f"Иван{NUL}"),
}


@pytest.mark.parametrize("where", list(CHANGES))
async def test_a_nul_in_any_text_input_is_refused(db: RolledBackDatabase, where: str) -> None:
    async with db.session() as session:
        with pytest.raises(ValidationFailed) as refused:
            await CHANGES[where](session, Region(session))

    assert refused.value.message == "must not contain control characters"
    assert refused.value.field == where.split()[0]
