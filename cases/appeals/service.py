"""Rules and changes of appeals: registration, assignment, extension, answer, deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from cases.appeals.models import (
    Appeal,
    AppealChannel,
    AppealKind,
    AppealOutcome,
    AppealStatus,
    AppealSubject,
)
from cases.appeals.policy import (
    APPEAL_MAX_EXTENSION_DAYS,
    APPEAL_NEAR_DEADLINE_DAYS,
    AppealDeadlineStage,
    appeal_deadline_priority,
    appeal_deadlines,
    extended_answer_due,
)
from cases.appeals.repository import (
    OPEN_APPEAL_STATUSES,
    AppealFilter,
    AppealOrder,
    AppealRepository,
)
from cases.audit.service import AuditLog, changes_between, snapshot
from cases.kit.actor import Actor
from cases.kit.checks import checked_text, local_date, validated
from cases.kit.columns import utcnow
from cases.kit.errors import InvalidState, NotFound, ValidationFailed
from cases.kit.paging import PageQuery, PageRequest
from cases.kit.validation import normalize_enp
from cases.patients.models import Patient
from cases.patients.repository import PatientRepository
from cases.registry.repository import ClinicRepository, InsurerRepository, RepresentativeRepository
from cases.supervision.policy import CaseRules
from cases.supervision.repository import SupervisionCaseRepository

APPEAL_FIELDS = [
    "insurer_id",
    "received_at",
    "channel",
    "kind",
    "subject",
    "patient_id",
    "clinic_id",
    "case_id",
    "representative_id",
    "status",
    "registration_due",
    "registered_late",
    "answer_due",
    "extension_days",
    "extension_notice",
    "outcome",
    "answered_on_time",
]


@dataclass(frozen=True)
class AppealDraft:
    received_at: datetime
    channel: AppealChannel
    kind: AppealKind
    subject: AppealSubject
    text: str
    patient_enp: str | None = None
    clinic_id: int | None = None
    case_id: int | None = None
    insurer_id: int | None = None


class AppealService:
    """Appeals from registration to closing, with the deadlines of 59-ФЗ (see `cases.policy`)."""

    def __init__(self, session: AsyncSession, rules: CaseRules | None = None) -> None:
        self.rules = rules or CaseRules()
        self.appeals = AppealRepository.from_session(session)
        self.patients = PatientRepository.from_session(session)
        self.clinics = ClinicRepository.from_session(session)
        self.cases = SupervisionCaseRepository.from_session(session)
        self.insurers = InsurerRepository.from_session(session)
        self.representatives = RepresentativeRepository.from_session(session)
        self.audit = AuditLog(session)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.rules.default_zone)

    async def get(self, appeal_id: int, field_name: str = "appeal_id") -> Appeal:
        appeal = await self.appeals.get(appeal_id)
        if appeal is None:
            raise NotFound("no such appeal", field=field_name)
        return appeal

    def page_query(
        self, filter: AppealFilter, request: PageRequest, order: AppealOrder, descending: bool
    ) -> PageQuery:
        return PageQuery(
            self.appeals.listing(filter), self.appeals.ordering(order, descending), request
        )

    async def register(
        self, actor: Actor, draft: AppealDraft, now: datetime | None = None
    ) -> Appeal:
        now = now or utcnow()
        if draft.received_at.tzinfo is None:
            raise ValidationFailed("must carry a time zone offset", field="received_at")
        if draft.received_at > now:
            raise ValidationFailed("must not be in the future", field="received_at")
        text = checked_text(draft.text, "text")
        patient = await self._patient(draft.patient_enp)
        if draft.kind is AppealKind.COMPLAINT and draft.clinic_id is None:
            raise ValidationFailed(
                "a complaint must name the clinic it concerns", field="clinic_id"
            )
        if draft.clinic_id is not None and await self.clinics.get(draft.clinic_id) is None:
            raise NotFound("no such clinic", field="clinic_id")
        if draft.case_id is not None:
            case = await self.cases.get(draft.case_id)
            if case is None:
                raise NotFound("no such supervision case", field="case_id")
            if patient is None:
                patient = await self.patients.get(case.patient_id)
            elif case.patient_id != patient.id:
                raise ValidationFailed("the case is another patient's", field="case_id")
        insurer_id = await self._insurer(actor, patient, draft.insurer_id)
        registered_on = local_date(now, self.zone)
        deadlines = appeal_deadlines(local_date(draft.received_at, self.zone), registered_on)
        appeal = Appeal(
            insurer_id=insurer_id,
            received_at=draft.received_at,
            registered_at=now,
            channel=draft.channel,
            kind=draft.kind,
            subject=draft.subject,
            text=text,
            patient_id=patient.id if patient else None,
            clinic_id=draft.clinic_id,
            case_id=draft.case_id,
            registration_due=deadlines.registration_due,
            registered_late=registered_on > deadlines.registration_due,
            answer_due=deadlines.answer_due,
        )
        await self.appeals.add(appeal)
        await self.audit.record(
            actor, "appeal.register", appeal, changes_between({}, snapshot(appeal, APPEAL_FIELDS))
        )
        return appeal

    async def _patient(self, enp: str | None) -> Patient | None:
        given = (enp or "").strip()
        if not given:
            return None
        patient = await self.patients.by_enp(validated(lambda: normalize_enp(given, "patient_enp")))
        if patient is None:
            raise NotFound("no patient with this ЕНП", field="patient_enp")
        return patient

    async def _insurer(self, actor: Actor, patient: Patient | None, given: int | None) -> int:
        """The patient's insurer, else the one named, else the caller's."""
        if given is not None and await self.insurers.get(given) is None:
            raise NotFound("no such insurer", field="insurer_id")
        if patient is not None:
            if given is not None and given != patient.insurer_id:
                raise ValidationFailed(
                    "the patient is insured by another insurer", field="insurer_id"
                )
            return patient.insurer_id
        insurer_id = given or actor.insurer_id
        if insurer_id is None:
            raise ValidationFailed("name the insurer that received the appeal", field="insurer_id")
        return insurer_id

    async def _change(
        self, actor: Actor, appeal: Appeal, action: str, before: dict[str, object]
    ) -> Appeal:
        appeal.updated_at = utcnow()
        await self.appeals.add(appeal)
        await self.audit.record(
            actor, action, appeal, changes_between(before, snapshot(appeal, APPEAL_FIELDS))
        )
        return appeal

    @staticmethod
    def _require_open(appeal: Appeal) -> None:
        if appeal.status not in OPEN_APPEAL_STATUSES:
            raise InvalidState(f"the appeal is {appeal.status.value} already", field="appeal_id")

    async def assign(self, actor: Actor, appeal_id: int, representative_id: int) -> Appeal:
        appeal = await self.get(appeal_id)
        self._require_open(appeal)
        representative = await self.representatives.get(representative_id)
        if representative is None or not representative.active:
            raise NotFound("no such active representative", field="representative_id")
        if representative.level != 3:
            raise ValidationFailed(
                "written appeals are handled by third-level representatives",
                field="representative_id",
            )
        if representative.insurer_id != appeal.insurer_id:
            raise ValidationFailed(
                "the representative works for another insurer", field="representative_id"
            )
        before = snapshot(appeal, APPEAL_FIELDS)
        appeal.representative_id, appeal.status = representative_id, AppealStatus.IN_PROGRESS
        await self.appeals.reassign_open_items(appeal_id, representative_id)
        return await self._change(actor, appeal, "appeal.assign", before)

    async def extend(
        self, actor: Actor, appeal_id: int, days: int, notice: str, today: date | None = None
    ) -> Appeal:
        """The one extension 59-ФЗ allows, made before the deadline, with the notice sent."""
        appeal = await self.get(appeal_id)
        self._require_open(appeal)
        if appeal.extension_days is not None:
            raise InvalidState("the appeal was extended once already", field="appeal_id")
        if not 1 <= days <= APPEAL_MAX_EXTENSION_DAYS:
            raise ValidationFailed(
                f"must be between 1 and {APPEAL_MAX_EXTENSION_DAYS}", field="days"
            )
        today = today or local_date(utcnow(), self.zone)
        if today > appeal.answer_due:
            raise InvalidState(
                "the answer deadline has passed; it cannot be extended", field="appeal_id"
            )
        before = snapshot(appeal, APPEAL_FIELDS)
        appeal.extension_notice = checked_text(notice, "notice", 500)
        appeal.extension_days, appeal.extended_at = days, utcnow()
        appeal.answer_due = extended_answer_due(appeal.answer_due, days)
        return await self._change(actor, appeal, "appeal.extend", before)

    async def answer(
        self,
        actor: Actor,
        appeal_id: int,
        text: str,
        outcome: AppealOutcome,
        now: datetime | None = None,
    ) -> Appeal:
        appeal = await self.get(appeal_id)
        self._require_open(appeal)
        before = snapshot(appeal, APPEAL_FIELDS)
        now = now or utcnow()
        appeal.answer_text, appeal.outcome = checked_text(text, "text"), outcome
        appeal.status, appeal.answered_at = AppealStatus.ANSWERED, now
        appeal.answered_on_time = local_date(now, self.zone) <= appeal.answer_due
        await self.appeals.close_open_items(appeal_id, "appeal answered", now)
        return await self._change(actor, appeal, "appeal.answer", before)

    async def close(self, actor: Actor, appeal_id: int) -> Appeal:
        appeal = await self.get(appeal_id)
        if appeal.status is not AppealStatus.ANSWERED:
            raise InvalidState(
                f"only an answered appeal is closed; this one is {appeal.status.value}",
                field="appeal_id",
            )
        before = snapshot(appeal, APPEAL_FIELDS)
        appeal.status, appeal.closed_at = AppealStatus.CLOSED, utcnow()
        return await self._change(actor, appeal, "appeal.close", before)


class AppealDeadlineScan:
    """Puts open appeals near their answer deadline, and overdue ones, on the worklist: two
    INSERT ... SELECT statements, idempotent through the work items' dedup keys."""

    def __init__(self, session: AsyncSession) -> None:
        self.appeals = AppealRepository.from_session(session)

    async def run(
        self, now: datetime, zone: ZoneInfo, near_days: int = APPEAL_NEAR_DEADLINE_DAYS
    ) -> int:
        today = local_date(now, zone)
        near_dates = [today + timedelta(days=n) for n in range(near_days + 1)]
        # A near appeal is due at the start of its last day, local time.
        due_at = {day: datetime.combine(day, time(0), zone) for day in near_dates}
        raised = await self.appeals.raise_deadline_items(
            stage=AppealDeadlineStage.NEAR.value,
            answer_due_from=today,
            answer_due_to=near_dates[-1],
            priority=appeal_deadline_priority(AppealDeadlineStage.NEAR),
            due_at=due_at,
            now=now,
        )
        raised += await self.appeals.raise_deadline_items(
            stage=AppealDeadlineStage.OVERDUE.value,
            answer_due_from=None,
            answer_due_to=today - timedelta(days=1),
            priority=appeal_deadline_priority(AppealDeadlineStage.OVERDUE),
            due_at={},
            now=now,
        )
        return raised
