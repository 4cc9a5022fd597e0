"""Rules and changes of the registry: registering insurers."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from cases.audit.service import AuditLog, changes_between, snapshot
from cases.kit.actor import Actor
from cases.kit.checks import validation_error
from cases.kit.errors import Conflict, InvalidValue, ValidationFailed
from cases.kit.paging import PageQuery, PageRequest
from cases.kit.validation import normalize_name, normalize_phone
from cases.registry.models import Insurer
from cases.registry.repository import InsurerRepository

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
            raise ValidationFailed(
                "must be 1-16 Latin letters, digits or hyphens", field="registryCode"
            )
        try:
            clean_name = normalize_name(name, "name")
            phone = normalize_phone(hotline_phone, "hotlinePhone") if hotline_phone else None
        except InvalidValue as error:
            raise validation_error(error) from None
        if await self.insurers.by_code(code) is not None:
            raise Conflict("an insurer with this code exists", field="registryCode")
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
