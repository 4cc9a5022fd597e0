"""Staff onboarding: representatives registered, changed, linked to a login and deactivated, and
their desk hours at clinics. An insurer's supervisor acts within that insurer; the administrator
within any."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cases.audit.service import AuditLog, changes_between, snapshot
from cases.kit.actor import Actor, Role
from cases.kit.checks import validated
from cases.kit.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from cases.kit.paging import PageQuery, PageRequest
from cases.kit.validation import normalize_email, normalize_name, normalize_phone
from cases.registry.models import DeskHours, Representative
from cases.registry.repository import (
    ClinicRepository,
    InsurerRepository,
    RepresentativeFilter,
    RepresentativeRepository,
)

REPRESENTATIVE_FIELDS = [
    "insurer_id",
    "level",
    "last_name",
    "first_name",
    "middle_name",
    "phone",
    "email",
    "active",
    "subject",
    "is_supervisor",
]
MAX_SUBJECT = 200
MAX_DESKS = 50


@dataclass(frozen=True)
class StaffDraft:
    """What a representative's record says; on a change, None leaves a field as it is."""

    level: int | None = None
    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    phone: str | None = None
    email: str | None = None
    is_supervisor: bool | None = None


@dataclass(frozen=True)
class Desk:
    """Hours a representative sits at a desk in a clinic, on one weekday (0 = Monday)."""

    clinic_id: int
    weekday: int
    starts_at: time
    ends_at: time


class StaffService:
    def __init__(self, session: AsyncSession) -> None:
        self.representatives = RepresentativeRepository.from_session(session)
        self.insurers = InsurerRepository.from_session(session)
        self.clinics = ClinicRepository.from_session(session)
        self.audit = AuditLog(session)
        # The logins this service's changes ended or altered (their subjects before and after).
        self.changed_logins: set[str] = set()

    async def register(
        self, actor: Actor, insurer_id: int, draft: StaffDraft, subject: str | None = None
    ) -> Representative:
        self._may_manage(actor, insurer_id)
        if await self.insurers.get(insurer_id) is None:
            raise NotFound("no such insurer", field="insurer_id")
        if draft.level is None or draft.last_name is None or draft.first_name is None:
            missing = [
                name
                for name in ("level", "last_name", "first_name")
                if getattr(draft, name) is None
            ]
            raise ValidationFailed("is required", field=missing[0])
        representative = Representative(
            insurer_id=insurer_id, level=draft.level, last_name="", first_name=""
        )
        self._apply(representative, draft)
        if subject is not None:
            representative.subject = await self._free_subject(subject)
        await self.representatives.add(representative)
        await self.audit.record(
            actor,
            "representative.register",
            representative,
            changes_between({}, snapshot(representative, REPRESENTATIVE_FIELDS)),
        )
        return representative

    async def update(
        self, actor: Actor, representative_id: int, draft: StaffDraft
    ) -> Representative:
        representative = await self._managed(actor, representative_id)
        before = snapshot(representative, REPRESENTATIVE_FIELDS)
        self._apply(representative, draft)
        return await self._changed(actor, "representative.update", representative, before)

    async def link(self, actor: Actor, representative_id: int, subject: str) -> Representative:
        """Link a login (the identity provider's subject) to the record."""
        representative = await self._managed(actor, representative_id)
        before = snapshot(representative, REPRESENTATIVE_FIELDS)
        representative.subject = await self._free_subject(subject, representative.id)
        return await self._changed(actor, "representative.link", representative, before)

    async def unlink(
        self, actor: Actor, representative_id: int
    ) -> tuple[Representative, str | None]:
        """Unlink the record's login; returns it with the subject it had."""
        representative = await self._managed(actor, representative_id)
        before = snapshot(representative, REPRESENTATIVE_FIELDS)
        subject, representative.subject = representative.subject, None
        return await self._changed(actor, "representative.unlink", representative, before), subject

    async def deactivate(self, actor: Actor, representative_id: int) -> Representative:
        """No more sign-ins; the record, its history and its caseload stay."""
        representative = await self._managed(actor, representative_id)
        if not representative.active:
            return representative
        before = snapshot(representative, REPRESENTATIVE_FIELDS)
        representative.active = False
        return await self._changed(actor, "representative.deactivate", representative, before)

    async def set_desks(
        self, actor: Actor, representative_id: int, desks: Sequence[Desk]
    ) -> list[DeskHours]:
        """Replace the representative's desk hours with `desks`."""
        representative = await self._managed(actor, representative_id)
        if len(desks) > MAX_DESKS:
            raise ValidationFailed(f"at most {MAX_DESKS} desk hours", field="desks")
        for index, desk in enumerate(desks):
            if not 0 <= desk.weekday <= 6:
                raise ValidationFailed("must be 0 (Monday) to 6", field=f"desks.{index}.weekday")
            if desk.starts_at >= desk.ends_at:
                raise ValidationFailed("must be after the start", field=f"desks.{index}.ends_at")
            if await self.clinics.get(desk.clinic_id) is None:
                raise NotFound("no such clinic", field=f"desks.{index}.clinic_id")
        before = [
            self._desk_values(d) for d in await self.representatives.desks_of(representative_id)
        ]
        rows = [
            DeskHours(
                representative_id=representative_id,
                **{f.name: getattr(desk, f.name) for f in fields(desk)},
            )
            for desk in desks
        ]
        await self.representatives.replace_desks(representative_id, rows)
        await self.audit.record(
            actor,
            "representative.desks",
            representative,
            {"desks": {"before": before, "after": [self._desk_values(d) for d in rows]}},
        )
        return rows

    def page_query(self, filter: RepresentativeFilter, request: PageRequest) -> PageQuery:
        return PageQuery(
            self.representatives.listing(filter), self.representatives.ordering(), request
        )

    @staticmethod
    def _desk_values(desk: DeskHours) -> dict[str, Any]:
        return {
            "clinic_id": desk.clinic_id,
            "weekday": desk.weekday,
            "starts_at": desk.starts_at.isoformat(),
            "ends_at": desk.ends_at.isoformat(),
        }

    @staticmethod
    def _may_manage(actor: Actor, insurer_id: int) -> None:
        if actor.role is Role.ADMIN:
            return
        if actor.role is Role.SUPERVISOR and actor.insurer_id == insurer_id:
            return
        raise PermissionDenied(
            "only the administrator or the insurer's supervisor manages its staff",
            field="insurer_id",
        )

    async def _managed(self, actor: Actor, representative_id: int) -> Representative:
        representative = await self.representatives.get(representative_id)
        if representative is None:
            raise NotFound("no such representative", field="representative_id")
        self._may_manage(actor, representative.insurer_id)
        return representative

    @staticmethod
    def _apply(representative: Representative, draft: StaffDraft) -> None:
        if draft.level is not None:
            if not 1 <= draft.level <= 3:
                raise ValidationFailed("must be 1, 2 or 3", field="level")
            representative.level = draft.level
        if draft.last_name is not None:
            representative.last_name = validated(
                lambda: normalize_name(draft.last_name or "", "last_name")
            )
        if draft.first_name is not None:
            representative.first_name = validated(
                lambda: normalize_name(draft.first_name or "", "first_name")
            )
        if draft.middle_name is not None:
            representative.middle_name = (
                validated(lambda: normalize_name(draft.middle_name or "", "middle_name"))
                if draft.middle_name.strip()
                else None
            )
        if draft.phone is not None:
            representative.phone = (
                validated(lambda: normalize_phone(draft.phone or "", "phone"))
                if draft.phone.strip()
                else None
            )
        if draft.email is not None:
            representative.email = (
                validated(lambda: normalize_email(draft.email or "", "email"))
                if draft.email.strip()
                else None
            )
        if draft.is_supervisor is not None:
            representative.is_supervisor = draft.is_supervisor

    async def _free_subject(self, subject: str, representative_id: int | None = None) -> str:
        clean = subject.strip()
        if not clean or len(clean) > MAX_SUBJECT or not clean.isprintable():
            raise ValidationFailed(f"must be 1-{MAX_SUBJECT} printable characters", field="subject")
        holder = await self.representatives.by_subject(clean)
        if holder is not None and holder.id != representative_id:
            raise Conflict("this login is linked to another representative", field="subject")
        return clean

    async def _changed(
        self, actor: Actor, action: str, representative: Representative, before: dict[str, Any]
    ) -> Representative:
        await self.representatives.add(representative)
        # Whatever an API process keeps of the login (or the one it had) is stale now.
        for subject in {before.get("subject"), representative.subject} - {None}:
            self.changed_logins.add(str(subject))
            await self.representatives.announce_login_change(str(subject))
        await self.audit.record(
            actor,
            action,
            representative,
            changes_between(before, snapshot(representative, REPRESENTATIVE_FIELDS)),
        )
        return representative
