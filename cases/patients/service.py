"""Rules and changes of patients: registration, contacts, consents, the card's read audit."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from cases.audit.service import AuditLog, PatientRef, changes_between, snapshot
from cases.kit.actor import Actor
from cases.kit.checks import check_version, checked_zone, validated
from cases.kit.columns import utcnow
from cases.kit.errors import Conflict, InvalidValue, NotFound, ValidationFailed
from cases.kit.paging import PageQuery, PageRequest
from cases.kit.validation import (
    ADDRESS_MAX_LENGTH,
    name_search_key,
    normalize_email,
    normalize_enp,
    normalize_name,
    normalize_phone,
    normalize_snils,
    plain_text,
)
from cases.patients.models import Channel, NotificationConsent, Patient, Sex
from cases.patients.repository import (
    ConsentRepository,
    PatientFilter,
    PatientOrder,
    PatientRepository,
    PatientSearch,
)
from cases.registry.repository import ClinicRepository, InsurerRepository
from cases.supervision.policy import CaseRules

PATIENT_FIELDS = [
    "enp",
    "snils",
    "last_name",
    "first_name",
    "middle_name",
    "birth_date",
    "sex",
    "phone",
    "phone_extra",
    "email",
    "postal_address",
    "time_zone",
    "insurer_id",
    "attached_clinic_id",
]


CONTACT_FIELDS = ["phone", "phone_extra", "email", "postal_address", "time_zone"]


@dataclass(frozen=True)
class PatientDraft:
    enp: str
    last_name: str
    first_name: str
    birth_date: date
    sex: Sex
    insurer_id: int
    middle_name: str | None = None
    snils: str | None = None
    phone: str | None = None
    phone_extra: str | None = None
    email: str | None = None
    postal_address: str | None = None
    time_zone: str | None = None
    attached_clinic_id: int | None = None


class PatientService:
    def __init__(self, session: AsyncSession, rules: CaseRules | None = None) -> None:
        self.rules = rules or CaseRules()
        self.patients = PatientRepository.from_session(session)
        self.insurers = InsurerRepository.from_session(session)
        self.clinics = ClinicRepository.from_session(session)
        self.consents = ConsentRepository.from_session(session)
        self.audit = AuditLog(session)

    async def get(self, patient_id: int) -> Patient:
        patient = await self.patients.get(patient_id)
        if patient is None:
            raise NotFound("no such patient", field="patient_id")
        return patient

    async def by_enp(self, enp: str) -> Patient | None:
        return await self.patients.by_enp(validated(lambda: normalize_enp(enp)))

    async def read_cards(self, actor: Actor, patients: Sequence[PatientRef]) -> None:
        """Record that the caller opened these patients' cards (152-ФЗ: every read is traceable)."""
        await self.audit.record_reads(actor, patients)

    @staticmethod
    def understand_search(text: str) -> PatientSearch:
        """An ЕНП, a СНИЛС, a phone number or the start of a name, told apart by their shape."""
        stripped = validated(lambda: plain_text(text, "search", 200))
        digits = re.sub(r"[\s\-()+]", "", stripped)
        if digits.isdigit() and len(digits) == 16:
            return PatientSearch(enp=digits)
        if digits.isdigit() and len(digits) == 11 and not stripped.startswith(("+", "8", "7")):
            return PatientSearch(snils=digits)
        if digits.isdigit() and len(digits) >= 10:
            try:
                return PatientSearch(phone=normalize_phone(stripped, "search"))
            except InvalidValue:
                if len(digits) == 11:
                    return PatientSearch(snils=digits)
                raise ValidationFailed(
                    "is neither an ЕНП, a СНИЛС nor a phone", field="search"
                ) from None
        key = name_search_key(stripped)
        if not key:
            raise ValidationFailed("must not be empty", field="search")
        return PatientSearch(name_prefix=key)

    def page_query(
        self,
        filter: PatientFilter,
        request: PageRequest,
        order: PatientOrder = PatientOrder.NAME,
        descending: bool = False,
    ) -> PageQuery:
        search = self.understand_search(filter.search) if filter.search else None
        if filter.diagnosis_prefix is not None:
            filter = replace(filter, diagnosis_prefix=filter.diagnosis_prefix.strip().upper())
        listing = self.patients.listing(filter, search)
        return PageQuery(listing, self.patients.ordering(order, descending), request)

    async def register(self, actor: Actor, draft: PatientDraft) -> Patient:
        enp = validated(lambda: normalize_enp(draft.enp))
        snils = validated(lambda: normalize_snils(draft.snils or "")) if draft.snils else None
        last = validated(lambda: normalize_name(draft.last_name, "last_name"))
        first = validated(lambda: normalize_name(draft.first_name, "first_name"))
        middle = (
            validated(lambda: normalize_name(draft.middle_name or "", "middle_name"))
            if draft.middle_name and draft.middle_name.strip()
            else None
        )
        if draft.birth_date > self.rules.today() or draft.birth_date.year < 1900:
            raise ValidationFailed("must be a past date after 1900", field="birth_date")
        phone = (
            validated(lambda: normalize_phone(draft.phone or "", "phone")) if draft.phone else None
        )
        phone_extra = (
            validated(lambda: normalize_phone(draft.phone_extra or "", "phone_extra"))
            if draft.phone_extra
            else None
        )
        email = validated(lambda: normalize_email(draft.email or "")) if draft.email else None
        zone = checked_zone(draft.time_zone or self.rules.default_zone, "time_zone")
        if await self.insurers.get(draft.insurer_id) is None:
            raise NotFound("no such insurer", field="insurer_id")
        if (
            draft.attached_clinic_id is not None
            and await self.clinics.get(draft.attached_clinic_id) is None
        ):
            raise NotFound("no such clinic", field="attached_clinic_id")
        # Another insurer's patient is out of the caller's sight, but the identifier is still
        # taken: say so (no retry would help), and nothing more of that patient.
        if await self.patients.identifier_taken("enp", enp):
            raise Conflict("a patient with this ЕНП is registered already", field="enp")
        if snils is not None and await self.patients.identifier_taken("snils", snils):
            raise Conflict("a patient with this СНИЛС is registered already", field="snils")
        patient = Patient(
            enp=enp,
            snils=snils,
            last_name=last,
            first_name=first,
            middle_name=middle,
            search_name=name_search_key(last, first, middle),
            birth_date=draft.birth_date,
            sex=draft.sex,
            phone=phone,
            phone_extra=phone_extra,
            email=email,
            postal_address=validated(
                lambda: plain_text(draft.postal_address or "", "postal_address", ADDRESS_MAX_LENGTH)
            )
            or None,
            time_zone=zone,
            insurer_id=draft.insurer_id,
            attached_clinic_id=draft.attached_clinic_id,
        )
        await self.patients.add(patient)
        await self.audit.record(
            actor,
            "patient.register",
            patient,
            changes_between({}, snapshot(patient, PATIENT_FIELDS)),
        )
        return patient

    async def update_contacts(
        self, actor: Actor, patient_id: int, version: int, changes: dict[str, str | None]
    ) -> Patient:
        patient = await self.get(patient_id)
        check_version(patient, version, "patient")
        before = snapshot(patient, CONTACT_FIELDS)
        normalizers: dict[str, Callable[[str], str]] = {
            "phone": lambda value: normalize_phone(value, "phone"),
            "phone_extra": lambda value: normalize_phone(value, "phone_extra"),
            "email": normalize_email,
            "postal_address": lambda value: plain_text(value, "postal_address", ADDRESS_MAX_LENGTH),
            "time_zone": lambda value: checked_zone(value, "time_zone"),
        }
        for name, value in changes.items():
            if name == "time_zone" and value is None:
                raise ValidationFailed("must not be null", field="time_zone")
            clean = validated(lambda: normalizers[name](value)) if value else None  # noqa: B023
            setattr(patient, name, clean)
        after = snapshot(patient, CONTACT_FIELDS)
        if after != before:
            patient.updated_at = utcnow()
            await self.patients.add(patient)
            await self.audit.record(
                actor, "patient.update_contacts", patient, changes_between(before, after)
            )
        return patient

    async def set_consent(
        self, actor: Actor, patient_id: int, channel: Channel, granted: bool, method: str
    ) -> NotificationConsent:
        await self.get(patient_id)
        how = method.strip()
        if not how:
            raise ValidationFailed("must say how consent was given or withdrawn", field="method")
        consent = await self.consents.current(patient_id, channel)
        before = snapshot(consent, ["granted", "method"]) if consent else {}
        if consent is None:
            consent = NotificationConsent(
                patient_id=patient_id, channel=channel, granted=granted, method=how
            )
        else:
            consent.granted, consent.method, consent.changed_at = granted, how[:100], utcnow()
        await self.consents.add(consent)
        await self.audit.record(
            actor,
            "patient.consent_granted" if granted else "patient.consent_withdrawn",
            consent,
            changes_between(
                before, {**snapshot(consent, ["granted", "method"]), "channel": channel.value}
            ),
        )
        return consent
