"""Rules and state changes of the domain; callers own the transaction (services never commit)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from cases.actor import Actor, Role
from cases.audit import AuditLog, PatientRef, changes_between, snapshot
from cases.errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationFailed
from cases.models import (
    CaseSource,
    CaseStatus,
    Channel,
    CloseReason,
    ContactAttempt,
    ContactMethod,
    ContactOutcome,
    InformingEvent,
    InformingMethod,
    InformingOutcome,
    Insurer,
    NotificationConsent,
    Patient,
    ReminderStatus,
    Representative,
    Sex,
    SupervisionCase,
    SupervisionRule,
    Visit,
    VisitStatus,
    WorkItem,
    WorkItemStatus,
    utcnow,
)
from cases.pagination import PageQuery, PageRequest
from cases.policy import (
    PlannedReminder,
    Reachability,
    ReminderPolicy,
    SupervisionRuleRow,
    load_supervision_rules,
    match_rule,
    missed_visit_dedup_key,
    missed_visit_work_item,
    next_window_after,
    plan_visit_windows,
    reminders_after_miss,
    reminders_for_visit,
    resolve_visits_per_year,
)
from cases.repository import (
    AuditFilter,
    AuditRepository,
    CaseFilter,
    CaseOrder,
    ClinicRepository,
    ConsentRepository,
    ContactAttemptRepository,
    InformingEventRepository,
    InsurerRepository,
    PatientFilter,
    PatientOrder,
    PatientRepository,
    PatientSearch,
    ReminderRepository,
    RepresentativeRepository,
    SupervisionCaseRepository,
    SupervisionRuleRepository,
    VisitFilter,
    VisitQueries,
    VisitRepository,
    WorkItemFilter,
    WorkItemRepository,
    WorklistRepository,
)
from cases.validation import (
    InvalidValue,
    name_search_key,
    normalize_email,
    normalize_enp,
    normalize_icd10,
    normalize_name,
    normalize_phone,
    normalize_snils,
)

T = TypeVar("T")

INSURER_CODE = re.compile(r"[0-9A-Z][0-9A-Z-]{0,15}")


def validation_error(error: InvalidValue) -> ValidationFailed:
    return ValidationFailed(error.message, field=error.field)


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


class AuditService:
    """The audit trail as supervisors and the territorial fund read it (scoped like all data)."""

    def __init__(self, session: AsyncSession) -> None:
        self.events = AuditRepository.from_session(session)

    def page_query(self, filter: AuditFilter, request: PageRequest) -> PageQuery:
        return PageQuery(self.events.listing(filter), self.events.ordering(), request)


class MissedVisitScan:
    """Marks overdue planned visits as missed, once, and puts them on the representatives' worklists."""

    def __init__(self, session: AsyncSession, rules: CaseRules | None = None) -> None:
        self.rules = rules or CaseRules()
        self.visits = VisitRepository.from_session(session)
        self.work_items = WorkItemRepository.from_session(session)
        self.consents = ConsentRepository.from_session(session)
        self.reminders = ReminderRepository.from_session(session)

    async def run(
        self, now: datetime, grace_days: int, zone: ZoneInfo, batch_size: int = 500
    ) -> int:
        """Flag one batch; returns how many visits it flagged (call again while it returns a full batch)."""
        cutoff = now.astimezone(zone).date() - timedelta(days=grace_days)
        flagged = await self.visits.flag_overdue(before=cutoff, at=now, limit=batch_size)
        if not flagged:
            return 0
        # Read after the update, so that a visit's previous outcome sees an earlier visit of
        # the same case flagged in this batch.
        facts = await self.visits.missed_visit_facts([row.id for row in flagged])
        consents = await self.consents.granted(list({row.patient_id for row in facts.values()}))
        items: list[dict[str, Any]] = []
        reminders: list[dict[str, Any]] = []
        for row in flagged:
            known = facts[row.id]
            items.append(self._work_item(row.id, row.case_id, known, now))
            patient_zone = ZoneInfo(known.time_zone)
            planned = reminders_after_miss(
                self.rules.policy,
                visit_id=row.id,
                missed_on=now.astimezone(patient_zone).date(),
                zone=patient_zone,
                reachability=reachability_of(known, consents[known.patient_id]),
                now=now,
            )
            reminders += _outbox_rows(planned, known.patient_id, row.case_id, row.id)
        await self.work_items.raise_many(items)
        await self.reminders.plan(reminders)
        return len(flagged)

    @staticmethod
    def _work_item(visit_id: int, case_id: int, known: Any, now: datetime) -> dict[str, Any]:
        kind, priority = missed_visit_work_item(
            second_in_a_row=known.previous == VisitStatus.MISSED
        )
        return {
            "kind": kind,
            "owner_id": known.representative_id,
            "patient_id": known.patient_id,
            "case_id": case_id,
            "visit_id": visit_id,
            "priority": priority,
            "due_at": now,
            "status": WorkItemStatus.OPEN,
            "dedup_key": missed_visit_dedup_key(visit_id),
            "created_at": now,
        }


@dataclass(frozen=True)
class CaseRules:
    """The configurable parts of the rules: reminder policy, default frequency, default zone."""

    policy: ReminderPolicy = field(default_factory=ReminderPolicy)
    default_visits_per_year: int = 1
    default_zone: str = "Europe/Moscow"


def _validated(call: Callable[[], T]) -> T:
    try:
        return call()
    except InvalidValue as error:
        raise validation_error(error) from None


def _zone(name: str, field_name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed("is not a known time zone", field=field_name) from None
    return name


def _check_version(entity: Any, expected: int, what: str) -> None:
    if entity.version != expected:
        raise Conflict(
            f"the {what} was changed meanwhile (version {entity.version}); reload and retry",
            field="version",
            current_version=entity.version,
        )


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
CASE_FIELDS = [
    "patient_id",
    "icd10",
    "clinic_id",
    "physician_name",
    "opened_on",
    "visits_per_year",
    "plan_below_minimum",
    "representative_id",
    "status",
    "closed_on",
    "close_reason",
    "source",
]
VISIT_FIELDS = [
    "window_start",
    "window_end",
    "appointment_at",
    "status",
    "attended_on",
    "external_id",
    "reason_code",
]


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
            raise NotFound("no such patient", field="id")
        return patient

    async def by_enp(self, enp: str) -> Patient | None:
        return await self.patients.by_enp(_validated(lambda: normalize_enp(enp)))

    async def read_cards(self, actor: Actor, patients: Sequence[PatientRef]) -> None:
        """Record that the caller opened these patients' cards (152-ФЗ: every read is traceable)."""
        await self.audit.record_reads(actor, patients)

    @staticmethod
    def understand_search(text: str) -> PatientSearch:
        """An ЕНП, a СНИЛС, a phone number or the start of a name, told apart by their shape."""
        stripped = text.strip()
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
        enp = _validated(lambda: normalize_enp(draft.enp))
        snils = _validated(lambda: normalize_snils(draft.snils or "")) if draft.snils else None
        last = _validated(lambda: normalize_name(draft.last_name, "lastName"))
        first = _validated(lambda: normalize_name(draft.first_name, "firstName"))
        middle = (
            _validated(lambda: normalize_name(draft.middle_name or "", "middleName"))
            if draft.middle_name and draft.middle_name.strip()
            else None
        )
        if draft.birth_date > date.today() or draft.birth_date.year < 1900:
            raise ValidationFailed("must be a past date after 1900", field="birthDate")
        phone = (
            _validated(lambda: normalize_phone(draft.phone or "", "phone")) if draft.phone else None
        )
        phone_extra = (
            _validated(lambda: normalize_phone(draft.phone_extra or "", "phoneExtra"))
            if draft.phone_extra
            else None
        )
        email = _validated(lambda: normalize_email(draft.email or "")) if draft.email else None
        zone = _zone(draft.time_zone or self.rules.default_zone, "timeZone")
        if await self.insurers.get(draft.insurer_id) is None:
            raise NotFound("no such insurer", field="insurerId")
        if (
            draft.attached_clinic_id is not None
            and await self.clinics.get(draft.attached_clinic_id) is None
        ):
            raise NotFound("no such clinic", field="attachedClinicId")
        if await self.patients.by_enp(enp) is not None:
            raise Conflict("a patient with this ЕНП is registered", field="enp")
        if snils is not None and await self.patients.by_snils(snils) is not None:
            raise Conflict("a patient with this СНИЛС is registered", field="snils")
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
            postal_address=(draft.postal_address or "").strip() or None,
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
        _check_version(patient, version, "patient")
        before = snapshot(patient, CONTACT_FIELDS)
        normalizers: dict[str, Callable[[str], str]] = {
            "phone": lambda value: normalize_phone(value, "phone"),
            "phone_extra": lambda value: normalize_phone(value, "phoneExtra"),
            "email": normalize_email,
            "postal_address": lambda value: value.strip(),
            "time_zone": lambda value: _zone(value, "timeZone"),
        }
        for name, value in changes.items():
            if name == "time_zone" and value is None:
                raise ValidationFailed("must not be null", field="timeZone")
            clean = _validated(lambda: normalizers[name](value)) if value else None  # noqa: B023
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


class ContactData(Protocol):
    """A patient's contact data: an entity, or a row that selected these columns."""

    @property
    def phone(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...
    @property
    def postal_address(self) -> str | None: ...


class ChannelConsent(Protocol):
    @property
    def channel(self) -> Channel: ...
    @property
    def granted(self) -> bool: ...


def reachability_of(patient: ContactData, consents: Iterable[ChannelConsent]) -> Reachability:
    """What contact data the patient has and which channels they have not withdrawn."""
    return Reachability(
        phone=patient.phone is not None,
        email=patient.email is not None,
        postal_address=patient.postal_address is not None,
        consents={consent.channel: consent.granted for consent in consents},
    )


def _outbox_rows(
    planned: Sequence[PlannedReminder], patient_id: int, case_id: int, visit_id: int
) -> list[dict[str, Any]]:
    now = utcnow()
    return [
        {
            "patient_id": patient_id,
            "case_id": case_id,
            "visit_id": visit_id,
            "kind": reminder.kind,
            "channel": reminder.channel,
            "template": reminder.template,
            "scheduled_for": reminder.scheduled_for,
            "status": ReminderStatus.PENDING,
            "attempts": 0,
            "idempotency_key": reminder.idempotency_key,
            "created_at": now,
            "updated_at": now,
        }
        for reminder in planned
    ]


class SupervisionService:
    """Cases and their visits: opening, planning, attendance, closing; each change writes its reminders."""

    def __init__(self, session: AsyncSession, rules: CaseRules | None = None) -> None:
        self.rules = rules or CaseRules()
        self.cases = SupervisionCaseRepository.from_session(session)
        self.visits = VisitQueries.from_session(session)
        self.patients = PatientRepository.from_session(session)
        self.clinics = ClinicRepository.from_session(session)
        self.representatives = RepresentativeRepository.from_session(session)
        self.rule_rows = SupervisionRuleRepository.from_session(session)
        self.consents = ConsentRepository.from_session(session)
        self.reminders = ReminderRepository.from_session(session)
        self.work_items = WorklistRepository.from_session(session)
        self.audit = AuditLog(session)

    async def get(self, case_id: int, field_name: str = "id") -> SupervisionCase:
        case = await self.cases.get(case_id)
        if case is None:
            raise NotFound("no such supervision case", field=field_name)
        return case

    async def get_visit(self, visit_id: int, field_name: str = "id") -> Visit:
        visit = await self.visits.get(visit_id)
        if visit is None:
            raise NotFound("no such visit", field=field_name)
        return visit

    def page_query(
        self, filter: CaseFilter, request: PageRequest, order: CaseOrder, descending: bool
    ) -> PageQuery:
        if filter.icd10_prefix is not None:
            filter = replace(filter, icd10_prefix=filter.icd10_prefix.strip().upper())
        return PageQuery(
            self.cases.listing(filter), self.cases.ordering(order, descending), request
        )

    def visit_page_query(self, filter: VisitFilter, request: PageRequest) -> PageQuery:
        return PageQuery(self.visits.listing(filter), self.visits.ordering(), request)

    async def rules_table(self) -> list[SupervisionRuleRow]:
        return [
            SupervisionRuleRow(
                icd10_prefix=row.icd10_prefix,
                min_visits_per_year=row.min_visits_per_year,
                specialty=row.specialty,
                source=row.source,
                verified=row.verified,
            )
            for row in await self.rule_rows.all()
        ]

    async def _representative(
        self, representative_id: int, patient: Patient, field_name: str
    ) -> Representative:
        representative = await self.representatives.get(representative_id)
        if representative is None or not representative.active:
            raise NotFound("no such active representative", field=field_name)
        if representative.level != 3:
            raise ValidationFailed(
                "supervised patients are assigned to third-level representatives", field=field_name
            )
        if representative.insurer_id != patient.insurer_id:
            raise ValidationFailed("the representative works for another insurer", field=field_name)
        return representative

    async def open(
        self,
        actor: Actor,
        *,
        patient_id: int,
        icd10: str,
        clinic_id: int,
        opened_on: date,
        physician_name: str | None = None,
        visits_per_year: int | None = None,
        representative_id: int | None = None,
        source: CaseSource = CaseSource.MANUAL,
        today: date | None = None,
    ) -> SupervisionCase:
        today = today or date.today()
        patient = await self.patients.get(patient_id)
        if patient is None:
            raise NotFound("no such patient", field="patientId")
        code = _validated(lambda: normalize_icd10(icd10))
        if await self.clinics.get(clinic_id) is None:
            raise NotFound("no such clinic", field="clinicId")
        if opened_on > today:
            raise ValidationFailed("must not be in the future", field="openedOn")
        if visits_per_year is not None and not 1 <= visits_per_year <= 52:
            raise ValidationFailed("must be between 1 and 52", field="visitsPerYear")
        if representative_id is not None:
            await self._representative(representative_id, patient, "representativeId")
        rule = match_rule(code, await self.rules_table())
        frequency, below_minimum = resolve_visits_per_year(
            visits_per_year, rule, self.rules.default_visits_per_year
        )
        case = SupervisionCase(
            patient_id=patient_id,
            icd10=code,
            clinic_id=clinic_id,
            physician_name=(physician_name or "").strip() or None,
            opened_on=opened_on,
            visits_per_year=frequency,
            plan_below_minimum=below_minimum,
            representative_id=representative_id,
            source=source,
        )
        await self.cases.add(case)
        await self.audit.record(
            actor, "case.open", case, changes_between({}, snapshot(case, CASE_FIELDS))
        )
        for start, end in plan_visit_windows(opened_on, frequency, today):
            await self._plan_visit(actor, case, patient, start, end, None)
        return case

    async def _plan_visit(
        self,
        actor: Actor,
        case: SupervisionCase,
        patient: Patient,
        start: date,
        end: date,
        appointment_at: datetime | None,
    ) -> Visit:
        visit = Visit(
            case_id=case.id,  # type: ignore[arg-type]
            clinic_id=case.clinic_id,
            window_start=start,
            window_end=end,
            appointment_at=appointment_at,
            changed_by=actor.label,
        )
        await self.visits.add(visit)
        await self.audit.record(
            actor, "visit.plan", visit, changes_between({}, snapshot(visit, VISIT_FIELDS))
        )
        await self._plan_reminders(case, patient, visit)
        return visit

    async def _plan_reminders(self, case: SupervisionCase, patient: Patient, visit: Visit) -> None:
        consents = (await self.consents.granted([patient.id]))[patient.id]  # type: ignore[list-item,index]
        planned = reminders_for_visit(
            self.rules.policy,
            visit_id=visit.id,  # type: ignore[arg-type]
            window_start=visit.window_start,
            appointment_at=visit.appointment_at,
            zone=ZoneInfo(patient.time_zone),
            reachability=reachability_of(patient, consents),
            now=utcnow(),
        )
        await self.reminders.plan(_outbox_rows(planned, patient.id, case.id, visit.id))  # type: ignore[arg-type]

    async def update(
        self,
        actor: Actor,
        case_id: int,
        version: int,
        *,
        icd10: str | None = None,
        physician_name: str | None = None,
        visits_per_year: int | None = None,
    ) -> SupervisionCase:
        case = await self.get(case_id)
        _check_version(case, version, "case")
        if case.status is CaseStatus.CLOSED:
            raise InvalidState("a closed case cannot be edited", field="id")
        before = snapshot(case, CASE_FIELDS)
        if icd10 is not None:
            case.icd10 = _validated(lambda: normalize_icd10(icd10))
        if physician_name is not None:
            case.physician_name = physician_name.strip() or None
        if visits_per_year is not None or icd10 is not None:
            if visits_per_year is not None and not 1 <= visits_per_year <= 52:
                raise ValidationFailed("must be between 1 and 52", field="visitsPerYear")
            rule = match_rule(case.icd10, await self.rules_table())
            case.visits_per_year, case.plan_below_minimum = resolve_visits_per_year(
                visits_per_year or case.visits_per_year, rule, self.rules.default_visits_per_year
            )
        after = snapshot(case, CASE_FIELDS)
        if after != before:
            case.updated_at = utcnow()
            await self.cases.add(case)
            await self.audit.record(actor, "case.update", case, changes_between(before, after))
        return case

    async def close(
        self, actor: Actor, case_id: int, version: int, reason: CloseReason, closed_on: date
    ) -> SupervisionCase:
        case = await self.get(case_id)
        _check_version(case, version, "case")
        if case.status is CaseStatus.CLOSED:
            raise InvalidState("the case is closed already", field="id")
        if closed_on < case.opened_on or closed_on > date.today():
            raise ValidationFailed("must be between the opening date and today", field="closedOn")
        before = snapshot(case, CASE_FIELDS)
        case.status, case.closed_on, case.close_reason = CaseStatus.CLOSED, closed_on, reason
        case.updated_at = utcnow()
        await self.cases.add(case)
        future = await self.visits.future_planned(case.id)  # type: ignore[arg-type]
        for visit in future:
            visit.status, visit.reason_code, visit.changed_by = (
                VisitStatus.CANCELLED,
                "case_closed",
                actor.label,
            )
            visit.updated_at = utcnow()
        await self.visits.add(*future)
        await self.reminders.cancel_pending(case_id=case.id)
        await self.audit.record(
            actor,
            "case.close",
            case,
            {
                **changes_between(before, snapshot(case, CASE_FIELDS)),
                "cancelled_visits": len(future),
            },
        )
        return case

    async def assign(
        self, actor: Actor, case_ids: Sequence[int], representative_id: int
    ) -> list[SupervisionCase]:
        if not case_ids:
            raise ValidationFailed("must name at least one case", field="caseIds")
        if len(case_ids) > MAX_BATCH:
            raise ValidationFailed(f"at most {MAX_BATCH} cases at a time", field="caseIds")
        found = await self.cases.get_many(case_ids)
        missing = [id_ for id_ in case_ids if id_ not in found]
        if missing:
            raise NotFound(f"{len(missing)} of the cases do not exist", field="caseIds")
        patients = await self.patients.get_many([case.patient_id for case in found.values()])
        changed = []
        for case_id in dict.fromkeys(case_ids):
            case = found[case_id]
            await self._representative(
                representative_id, patients[case.patient_id], "representativeId"
            )
            if case.representative_id == representative_id:
                changed.append(case)
                continue
            before = snapshot(case, ["representative_id"])
            case.representative_id, case.updated_at = representative_id, utcnow()
            await self.cases.add(case)
            await self.audit.record(
                actor,
                "case.assign",
                case,
                changes_between(before, snapshot(case, ["representative_id"])),
            )
            changed.append(case)
        return changed

    async def schedule_visit(
        self,
        actor: Actor,
        case_id: int,
        window_start: date,
        window_end: date,
        appointment_at: datetime | None,
    ) -> Visit:
        case = await self.get(case_id, "caseId")
        if case.status is CaseStatus.CLOSED:
            raise InvalidState("no visit can be planned on a closed case", field="caseId")
        self._check_window(window_start, window_end, appointment_at)
        patient = await self.patients.get(case.patient_id)
        assert patient is not None
        return await self._plan_visit(
            actor, case, patient, window_start, window_end, appointment_at
        )

    @staticmethod
    def _check_window(start: date, end: date, appointment_at: datetime | None) -> None:
        if end < start:
            raise ValidationFailed("must not be before the window start", field="windowEnd")
        if appointment_at is not None and appointment_at.tzinfo is None:
            raise ValidationFailed("must carry a time zone offset", field="appointmentAt")

    async def _planned_visit(self, visit_id: int) -> tuple[Visit, SupervisionCase]:
        visit = await self.get_visit(visit_id)
        if visit.status is not VisitStatus.PLANNED:
            raise InvalidState(f"the visit is {visit.status.value}, not planned", field="id")
        return visit, await self.get(visit.case_id)

    async def reschedule_visit(
        self,
        actor: Actor,
        visit_id: int,
        window_start: date | None,
        window_end: date | None,
        appointment_at: datetime | None,
    ) -> Visit:
        visit, case = await self._planned_visit(visit_id)
        before = snapshot(visit, VISIT_FIELDS)
        start, end = window_start or visit.window_start, window_end or visit.window_end
        self._check_window(start, end, appointment_at)
        visit.window_start, visit.window_end = start, end
        if appointment_at is not None:
            visit.appointment_at = appointment_at
        visit.updated_at, visit.changed_by = utcnow(), actor.label
        await self.visits.add(visit)
        await self.reminders.cancel_pending(visit_ids=[visit_id])
        patient = await self.patients.get(case.patient_id)
        assert patient is not None
        await self._plan_reminders(case, patient, visit)
        await self.audit.record(
            actor, "visit.reschedule", visit, changes_between(before, snapshot(visit, VISIT_FIELDS))
        )
        return visit

    async def cancel_visit(self, actor: Actor, visit_id: int, reason_code: str) -> Visit:
        visit, _ = await self._planned_visit(visit_id)
        before = snapshot(visit, VISIT_FIELDS)
        visit.status, visit.reason_code = VisitStatus.CANCELLED, reason_code.strip()[:32] or None
        visit.updated_at, visit.changed_by = utcnow(), actor.label
        await self.visits.add(visit)
        await self.reminders.cancel_pending(visit_ids=[visit_id])
        await self.audit.record(
            actor, "visit.cancel", visit, changes_between(before, snapshot(visit, VISIT_FIELDS))
        )
        return visit

    async def record_visit(
        self,
        actor: Actor,
        *,
        clinic_id: int,
        external_id: str,
        case_id: int,
        attended: bool,
        visit_date: date,
        visit_id: int | None = None,
        today: date | None = None,
    ) -> Visit:
        """A clinic's report of one visit; repeating the same external id changes nothing."""
        today = today or date.today()
        external = external_id.strip()
        if not external or len(external) > 64:
            raise ValidationFailed("must be 1-64 characters", field="externalId")
        existing = await self.visits.by_external_id(clinic_id, external)
        if existing is not None:
            if existing.case_id != case_id:
                raise Conflict("this external id was reported for another case", field="externalId")
            return existing
        case = await self.get(case_id, "caseId")
        if case.clinic_id != clinic_id:
            raise ValidationFailed("the case is supervised at another clinic", field="clinicId")
        if case.status is CaseStatus.CLOSED:
            raise InvalidState("no visit can be recorded on a closed case", field="caseId")
        if visit_date > today:
            raise ValidationFailed("must not be in the future", field="visitDate")
        if visit_date < case.opened_on:
            raise ValidationFailed("must not be before the case was opened", field="visitDate")
        patient = await self.patients.get(case.patient_id)
        assert patient is not None
        visit = await self._visit_to_record(case, visit_id, visit_date)
        before = snapshot(visit, VISIT_FIELDS)
        was_missed = visit.status is VisitStatus.MISSED
        visit.external_id, visit.changed_by, visit.updated_at = external, actor.label, utcnow()
        if attended:
            visit.status, visit.attended_on = VisitStatus.ATTENDED, visit_date
        else:
            visit.status, visit.missed_at = VisitStatus.MISSED, visit.missed_at or utcnow()
        await self.visits.add(visit)
        await self.reminders.cancel_pending(visit_ids=[visit.id])  # type: ignore[list-item]
        action = "visit.attended" if attended else "visit.missed"
        if attended and was_missed:
            action = "visit.miss_reversed"
            for item in await self.work_items.open_for_visit(visit.id):  # type: ignore[arg-type]
                item.status, item.resolution, item.resolved_at = (
                    WorkItemStatus.DONE,
                    "attendance reported late",
                    utcnow(),
                )
                await self.work_items.add(item)
        await self.audit.record(
            actor, action, visit, changes_between(before, snapshot(visit, VISIT_FIELDS))
        )
        if attended and not await self.visits.future_planned(case.id):  # type: ignore[arg-type]
            start, end = next_window_after(visit_date, case.visits_per_year)
            await self._plan_visit(actor, case, patient, start, end, None)
        return visit

    async def _visit_to_record(
        self, case: SupervisionCase, visit_id: int | None, on: date
    ) -> Visit:
        if visit_id is not None:
            visit = await self.get_visit(visit_id, "visitId")
            if visit.case_id != case.id:
                raise ValidationFailed("the visit belongs to another case", field="visitId")
            if visit.status in (VisitStatus.ATTENDED, VisitStatus.CANCELLED):
                raise InvalidState(f"the visit is {visit.status.value} already", field="visitId")
            return visit
        planned = sorted(await self.visits.future_planned(case.id), key=lambda v: v.window_start)  # type: ignore[arg-type]
        if planned:
            return planned[0]
        # Nothing planned: the clinic reports a visit outside the plan; record it as it came.
        return Visit(case_id=case.id, clinic_id=case.clinic_id, window_start=on, window_end=on)  # type: ignore[arg-type]


MAX_BATCH = 100


CONTACT_INFORMING_METHOD = {
    ContactMethod.CALL: InformingMethod.PHONE_CALL,
    ContactMethod.LETTER: InformingMethod.LETTER,
    ContactMethod.IN_PERSON: InformingMethod.IN_PERSON,
}
REACHED_OUTCOMES = frozenset(
    {ContactOutcome.REACHED, ContactOutcome.WILL_ATTEND, ContactOutcome.REFUSED}
)


class WorkItemService:
    def __init__(self, session: AsyncSession) -> None:
        self.informing = InformingEventRepository.from_session(session)
        self.items = WorklistRepository.from_session(session)
        self.attempts = ContactAttemptRepository.from_session(session)
        self.patients = PatientRepository.from_session(session)
        self.representatives = RepresentativeRepository.from_session(session)
        self.audit = AuditLog(session)

    def page_query(self, filter: WorkItemFilter, request: PageRequest) -> PageQuery:
        return PageQuery(self.items.listing(filter), self.items.ordering(), request)

    async def get(self, item_id: int) -> WorkItem:
        item = await self.items.get(item_id)
        if item is None:
            raise NotFound("no such work item", field="id")
        return item

    async def start(self, actor: Actor, item_id: int) -> WorkItem:
        item = await self.get(item_id)
        if item.status is WorkItemStatus.DONE:
            raise InvalidState("the work item is done", field="id")
        if item.status is WorkItemStatus.OPEN:
            item.status = WorkItemStatus.IN_PROGRESS
            await self.items.add(item)
            await self.audit.record(
                actor,
                "work_item.start",
                item,
                {"status": {"before": "open", "after": "in_progress"}},
            )
        return item

    async def resolve(self, actor: Actor, item_id: int, resolution: str) -> WorkItem:
        item = await self.get(item_id)
        text = resolution.strip()
        if not text:
            raise ValidationFailed("must say what was done", field="resolution")
        if item.status is WorkItemStatus.DONE:
            raise InvalidState("the work item is done already", field="id")
        before = snapshot(item, ["status", "resolution"])
        item.status, item.resolution, item.resolved_at = WorkItemStatus.DONE, text[:1000], utcnow()
        await self.items.add(item)
        await self.audit.record(
            actor,
            "work_item.resolve",
            item,
            changes_between(before, snapshot(item, ["status", "resolution"])),
        )
        return item

    async def log_contact_attempt(
        self,
        actor: Actor,
        *,
        patient_id: int,
        method: ContactMethod,
        outcome: ContactOutcome,
        note: str | None,
        case_id: int | None = None,
        work_item_id: int | None = None,
        representative_id: int | None = None,
    ) -> ContactAttempt:
        who = actor.representative_id or representative_id
        if who is None:
            raise ValidationFailed(
                "name the representative who made the contact", field="representativeId"
            )
        if await self.representatives.get(who) is None:
            raise NotFound("no such representative", field="representativeId")
        if await self.patients.get(patient_id) is None:
            raise NotFound("no such patient", field="patientId")
        if work_item_id is not None:
            item = await self.get(work_item_id)
            if item.patient_id != patient_id:
                raise ValidationFailed("the work item concerns another patient", field="workItemId")
        attempt = ContactAttempt(
            patient_id=patient_id,
            case_id=case_id,
            work_item_id=work_item_id,
            representative_id=who,
            method=method,
            outcome=outcome,
            note=(note or "").strip()[:2000] or None,
        )
        await self.attempts.add(attempt)
        # A representative's call or letter is an informing event like any reminder.
        await self.informing.add(
            InformingEvent(
                patient_id=patient_id,
                case_id=case_id,
                contact_attempt_id=attempt.id,
                kind="contact",
                method=CONTACT_INFORMING_METHOD[method],
                outcome=(
                    InformingOutcome.REACHED
                    if outcome in REACHED_OUTCOMES
                    else InformingOutcome.NOT_REACHED
                ),
                occurred_at=attempt.attempted_at,
            )
        )
        await self.audit.record(
            actor,
            "contact_attempt.log",
            attempt,
            changes_between(
                {},
                snapshot(attempt, ["patient_id", "case_id", "work_item_id", "method", "outcome"]),
            ),
        )
        return attempt


class SupervisionRuleService:
    """The rules table: shipped as data, loaded into the database, editable by an administrator."""

    def __init__(self, session: AsyncSession) -> None:
        self.rules = SupervisionRuleRepository.from_session(session)
        self.audit = AuditLog(session)

    async def load_shipped(self) -> None:
        await self.rules.add_missing(
            [
                {
                    "icd10_prefix": row.icd10_prefix,
                    "min_visits_per_year": row.min_visits_per_year,
                    "specialty": row.specialty,
                    "source": row.source,
                    "verified": row.verified,
                }
                for row in load_supervision_rules()
            ]
        )

    async def all(self) -> Sequence[SupervisionRule]:
        return await self.rules.all()

    async def upsert(
        self,
        actor: Actor,
        *,
        icd10_prefix: str,
        min_visits_per_year: int,
        specialty: str,
        source: str,
        verified: bool,
    ) -> SupervisionRule:
        if actor.role is not Role.ADMIN:
            raise PermissionDenied("only an administrator edits the rules table")
        prefix = icd10_prefix.strip().upper()
        if not RULE_PREFIX.fullmatch(prefix):
            raise ValidationFailed(
                "must be an ICD-10 code or its first characters, e.g. I10", field="icd10Prefix"
            )
        if not 1 <= min_visits_per_year <= 52:
            raise ValidationFailed("must be between 1 and 52", field="minVisitsPerYear")
        if not specialty.strip():
            raise ValidationFailed("must not be empty", field="specialty")
        if verified and "168н" not in source:
            raise ValidationFailed(
                "only a row read from the text of Order 168н may be verified; cite it in source",
                field="verified",
            )
        rule = await self.rules.by_prefix(prefix)
        before = snapshot(rule, RULE_FIELDS) if rule else {}
        if rule is None:
            rule = SupervisionRule(
                icd10_prefix=prefix, min_visits_per_year=1, specialty="", source=""
            )
        rule.min_visits_per_year, rule.specialty = min_visits_per_year, specialty.strip()[:100]
        rule.source, rule.verified = source.strip()[:300], verified
        await self.rules.add(rule)
        await self.audit.record(
            actor,
            "supervision_rule.upsert",
            rule,
            changes_between(before, snapshot(rule, RULE_FIELDS)),
        )
        return rule


RULE_PREFIX = re.compile(r"[A-Z][0-9]{0,2}(\.[0-9]{1,2})?")
RULE_FIELDS = ["icd10_prefix", "min_visits_per_year", "specialty", "source", "verified"]
