"""Rules and changes of the registry: insurers and clinics (staff: `cases.registry.staff`)."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from cases.audit.service import AuditLog, changes_between, snapshot
from cases.kit.actor import Actor
from cases.kit.checks import checked_text, checked_zone, validation_error
from cases.kit.errors import Conflict, InvalidValue, NotFound, ValidationFailed
from cases.kit.paging import PageQuery, PageRequest
from cases.kit.validation import normalize_name, normalize_phone
from cases.registry.models import Insurer, MedicalOrganization
from cases.registry.repository import ClinicRepository, InsurerRepository

INSURER_CODE = re.compile(r"[0-9A-Z][0-9A-Z-]{0,15}")


class InsurerService:
    def __init__(self, session: AsyncSession) -> None:
        self.insurers = InsurerRepository.from_session(session)
        self.audit = AuditLog(session)

    async def register(
        self, actor: Actor, *, code: str, name: str, hotline_phone: str | None
    ) -> Insurer:
        code = code.strip().upper()
        if not INSURER_CODE.fullmatch(code):
            raise ValidationFailed("must be 1-16 Latin letters, digits or hyphens", field="code")
        try:
            clean_name = normalize_name(name, "name")
            phone = normalize_phone(hotline_phone, "hotline_phone") if hotline_phone else None
        except InvalidValue as error:
            raise validation_error(error) from None
        if await self.insurers.by_code(code) is not None:
            raise Conflict("an insurer with this code exists", field="code")
        insurer = Insurer(code=code, name=clean_name, hotline_phone=phone)
        await self.insurers.add(insurer)
        await self.audit.record(
            actor,
            "insurer.register",
            insurer,
            changes_between({}, snapshot(insurer, ["code", "name", "hotline_phone"])),
        )
        return insurer

    def page_query(self, request: PageRequest) -> PageQuery:
        return PageQuery(self.insurers.listing(), self.insurers.ordering(), request)


CLINIC_CODE = re.compile(r"[0-9A-Za-z]{1,16}")
CLINIC_FIELDS = ["code", "name", "address", "time_zone"]


class ClinicService:
    """The region's clinics (МО): registered and changed by the administrator."""

    def __init__(self, session: AsyncSession) -> None:
        self.clinics = ClinicRepository.from_session(session)
        self.audit = AuditLog(session)

    async def register(
        self, actor: Actor, *, code: str, name: str, address: str | None, time_zone: str
    ) -> MedicalOrganization:
        clean_code = code.strip()
        if not CLINIC_CODE.fullmatch(clean_code):
            raise ValidationFailed("must be 1-16 Latin letters or digits", field="code")
        if await self.clinics.by_code(clean_code) is not None:
            raise Conflict("a clinic with this code exists", field="code")
        clinic = MedicalOrganization(code=clean_code, name="", time_zone=time_zone)
        self._apply(clinic, name=name, address=address, time_zone=time_zone)
        await self.clinics.add(clinic)
        await self.audit.record(
            actor, "clinic.register", clinic, changes_between({}, snapshot(clinic, CLINIC_FIELDS))
        )
        return clinic

    async def update(
        self,
        actor: Actor,
        clinic_id: int,
        *,
        name: str | None = None,
        address: str | None = None,
        time_zone: str | None = None,
    ) -> MedicalOrganization:
        clinic = await self.clinics.get(clinic_id)
        if clinic is None:
            raise NotFound("no such clinic", field="clinic_id")
        before = snapshot(clinic, CLINIC_FIELDS)
        self._apply(clinic, name=name, address=address, time_zone=time_zone)
        await self.clinics.add(clinic)
        await self.audit.record(
            actor, "clinic.update", clinic, changes_between(before, snapshot(clinic, CLINIC_FIELDS))
        )
        return clinic

    def page_query(self, request: PageRequest) -> PageQuery:
        return PageQuery(self.clinics.listing(), self.clinics.ordering(), request)

    @staticmethod
    def _apply(
        clinic: MedicalOrganization,
        *,
        name: str | None,
        address: str | None,
        time_zone: str | None,
    ) -> None:
        if name is not None:
            clinic.name = checked_text(name, "name", 300)
        if address is not None:
            clinic.address = checked_text(address, "address", 500) if address.strip() else None
        if time_zone is not None:
            clinic.time_zone = checked_zone(time_zone, "time_zone")
