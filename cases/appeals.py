"""Rules and state changes of written appeals and quality-of-care examinations (ЭКМП)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from cases.actor import Actor
from cases.audit import AuditLog, changes_between, snapshot
from cases.errors import InvalidState, NotFound, ValidationFailed
from cases.models import (
    Appeal,
    AppealChannel,
    AppealKind,
    AppealOutcome,
    AppealStatus,
    AppealSubject,
    ExaminationKind,
    ExaminationOutcome,
    ExaminationReason,
    ExaminationStatus,
    ExaminedCase,
    Patient,
    QualityExamination,
    utcnow,
)
from cases.pagination import PageQuery, PageRequest
from cases.policy import (
    APPEAL_MAX_EXTENSION_DAYS,
    APPEAL_NEAR_DEADLINE_DAYS,
    AppealDeadlineStage,
    appeal_deadline_priority,
    appeal_deadlines,
    extended_answer_due,
)
from cases.repository import (
    OPEN_APPEAL_STATUSES,
    AppealFilter,
    AppealOrder,
    AppealRepository,
    ClinicRepository,
    ExaminationFilter,
    InsurerRepository,
    PatientRepository,
    QualityExaminationRepository,
    RepresentativeRepository,
    SupervisionCaseRepository,
    VisitQueries,
)
from cases.service import MAX_BATCH, CaseRules, _validated
from cases.validation import normalize_enp

MAX_TEXT = 10000
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
    "answer_due",
    "extension_days",
    "extension_notice",
    "outcome",
    "answered_on_time",
]
EXAMINATION_FIELDS = [
    "insurer_id",
    "kind",
    "reason",
    "clinic_id",
    "appeal_id",
    "period_start",
    "period_end",
    "expert_name",
    "due_on",
    "status",
    "violation_codes",
    "outcome",
]
VIOLATION_CODE = re.compile(r"[0-9A-Za-zА-Яа-я][0-9A-Za-zА-Яа-я.\-]{0,15}")


def _text(value: str, field_name: str, limit: int = MAX_TEXT) -> str:
    text = value.strip()
    if not text:
        raise ValidationFailed("must not be empty", field=field_name)
    if len(text) > limit:
        raise ValidationFailed(f"must be at most {limit} characters", field=field_name)
    return text


def _local_date(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


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

    async def get(self, appeal_id: int, field_name: str = "id") -> Appeal:
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
            raise ValidationFailed("must carry a time zone offset", field="receivedAt")
        if draft.received_at > now:
            raise ValidationFailed("must not be in the future", field="receivedAt")
        text = _text(draft.text, "text")
        patient = await self._patient(draft.patient_enp)
        if draft.kind is AppealKind.COMPLAINT and draft.clinic_id is None:
            raise ValidationFailed("a complaint must name the clinic it concerns", field="clinicId")
        if draft.clinic_id is not None and await self.clinics.get(draft.clinic_id) is None:
            raise NotFound("no such clinic", field="clinicId")
        if draft.case_id is not None:
            case = await self.cases.get(draft.case_id)
            if case is None:
                raise NotFound("no such supervision case", field="caseId")
            if patient is None:
                patient = await self.patients.get(case.patient_id)
            elif case.patient_id != patient.id:
                raise ValidationFailed("the case is another patient's", field="caseId")
        insurer_id = await self._insurer(actor, patient, draft.insurer_id)
        deadlines = appeal_deadlines(
            _local_date(draft.received_at, self.zone), _local_date(now, self.zone)
        )
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
        patient = await self.patients.by_enp(_validated(lambda: normalize_enp(given, "patientEnp")))
        if patient is None:
            raise NotFound("no patient with this ЕНП", field="patientEnp")
        return patient

    async def _insurer(self, actor: Actor, patient: Patient | None, given: int | None) -> int:
        """The patient's insurer, else the one named, else the caller's."""
        if given is not None and await self.insurers.get(given) is None:
            raise NotFound("no such insurer", field="insurerId")
        if patient is not None:
            if given is not None and given != patient.insurer_id:
                raise ValidationFailed(
                    "the patient is insured by another insurer", field="insurerId"
                )
            return patient.insurer_id
        insurer_id = given or actor.insurer_id
        if insurer_id is None:
            raise ValidationFailed("name the insurer that received the appeal", field="insurerId")
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
            raise InvalidState(f"the appeal is {appeal.status.value} already", field="id")

    async def assign(self, actor: Actor, appeal_id: int, representative_id: int) -> Appeal:
        appeal = await self.get(appeal_id)
        self._require_open(appeal)
        representative = await self.representatives.get(representative_id)
        if representative is None or not representative.active:
            raise NotFound("no such active representative", field="representativeId")
        if representative.level != 3:
            raise ValidationFailed(
                "written appeals are handled by third-level representatives",
                field="representativeId",
            )
        if representative.insurer_id != appeal.insurer_id:
            raise ValidationFailed(
                "the representative works for another insurer", field="representativeId"
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
            raise InvalidState("the appeal was extended once already", field="id")
        if not 1 <= days <= APPEAL_MAX_EXTENSION_DAYS:
            raise ValidationFailed(
                f"must be between 1 and {APPEAL_MAX_EXTENSION_DAYS}", field="days"
            )
        today = today or _local_date(utcnow(), self.zone)
        if today > appeal.answer_due:
            raise InvalidState("the answer deadline has passed; it cannot be extended", field="id")
        before = snapshot(appeal, APPEAL_FIELDS)
        appeal.extension_notice = _text(notice, "notice", 500)
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
        appeal.answer_text, appeal.outcome = _text(text, "text"), outcome
        appeal.status, appeal.answered_at = AppealStatus.ANSWERED, now
        appeal.answered_on_time = _local_date(now, self.zone) <= appeal.answer_due
        await self.appeals.close_open_items(appeal_id, "appeal answered", now)
        return await self._change(actor, appeal, "appeal.answer", before)

    async def close(self, actor: Actor, appeal_id: int) -> Appeal:
        appeal = await self.get(appeal_id)
        if appeal.status is not AppealStatus.ANSWERED:
            raise InvalidState(
                f"only an answered appeal is closed; this one is {appeal.status.value}", field="id"
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
        today = _local_date(now, zone)
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


@dataclass(frozen=True)
class ExaminationOrder:
    kind: ExaminationKind
    clinic_id: int
    period_start: date
    period_end: date
    expert_name: str
    due_on: date
    reason: ExaminationReason | None = None
    appeal_id: int | None = None
    case_ids: Sequence[int] = ()
    visit_ids: Sequence[int] = ()
    insurer_id: int | None = None


class QualityExaminationService:
    def __init__(self, session: AsyncSession, rules: CaseRules | None = None) -> None:
        self.rules = rules or CaseRules()
        self.examinations = QualityExaminationRepository.from_session(session)
        self.appeals = AppealService(session, rules)
        self.cases = SupervisionCaseRepository.from_session(session)
        self.visits = VisitQueries.from_session(session)
        self.patients = PatientRepository.from_session(session)
        self.clinics = ClinicRepository.from_session(session)
        self.audit = AuditLog(session)

    async def get(self, examination_id: int, field_name: str = "id") -> QualityExamination:
        examination = await self.examinations.get(examination_id)
        if examination is None:
            raise NotFound("no such quality examination", field=field_name)
        return examination

    def page_query(self, filter: ExaminationFilter, request: PageRequest) -> PageQuery:
        return PageQuery(self.examinations.listing(filter), self.examinations.ordering(), request)

    async def order(
        self, actor: Actor, order: ExaminationOrder, today: date | None = None
    ) -> QualityExamination:
        today = today or _local_date(utcnow(), self.appeals.zone)
        if order.kind is ExaminationKind.TARGETED and order.reason is None:
            raise ValidationFailed("a targeted examination says why it is ordered", field="reason")
        if order.kind is ExaminationKind.SCHEDULED and order.reason is not None:
            raise ValidationFailed("a scheduled examination has no reason", field="reason")
        if await self.clinics.get(order.clinic_id) is None:
            raise NotFound("no such clinic", field="clinicId")
        if order.period_end < order.period_start:
            raise ValidationFailed("must not be before the period start", field="periodEnd")
        if order.due_on < today:
            raise ValidationFailed("must not be in the past", field="dueOn")
        expert = _text(order.expert_name, "expertName", 200)
        insurer_id = order.insurer_id
        if order.appeal_id is not None:
            appeal = await self.appeals.get(order.appeal_id, "appealId")
            if appeal.clinic_id not in (None, order.clinic_id):
                raise ValidationFailed("the appeal concerns another clinic", field="appealId")
            insurer_id = appeal.insurer_id
        elif order.reason is ExaminationReason.COMPLAINT:
            raise ValidationFailed("name the complaint the examination follows", field="appealId")
        examined = await self._examined(order)
        if insurer_id is None and examined:
            case = await self.cases.get(examined[0][0])
            assert case is not None
            patient = await self.patients.get(case.patient_id)
            assert patient is not None
            insurer_id = patient.insurer_id
        insurer_id = insurer_id or actor.insurer_id
        if insurer_id is None:
            raise ValidationFailed(
                "name the insurer that orders the examination", field="insurerId"
            )
        examination = QualityExamination(
            insurer_id=insurer_id,
            kind=order.kind,
            reason=order.reason,
            clinic_id=order.clinic_id,
            appeal_id=order.appeal_id,
            period_start=order.period_start,
            period_end=order.period_end,
            expert_name=expert,
            due_on=order.due_on,
            ordered_by=actor.label,
        )
        await self.examinations.add(examination)
        await self.examinations.add(
            *(
                ExaminedCase(examination_id=examination.id, case_id=case_id, visit_id=visit_id)  # type: ignore[arg-type]
                for case_id, visit_id in examined
            )
        )
        await self.audit.record(
            actor,
            "quality_examination.order",
            examination,
            {
                **changes_between({}, snapshot(examination, EXAMINATION_FIELDS)),
                "examined": [[case_id, visit_id] for case_id, visit_id in examined],
            },
        )
        return examination

    async def _examined(self, order: ExaminationOrder) -> list[tuple[int, int | None]]:
        """(case, visit) pairs: each named visit with its case, and each named case alone."""
        case_ids, visit_ids = (
            list(dict.fromkeys(order.case_ids)),
            list(dict.fromkeys(order.visit_ids)),
        )
        if len(case_ids) > MAX_BATCH:
            raise ValidationFailed(f"at most {MAX_BATCH} cases", field="caseIds")
        if len(visit_ids) > MAX_BATCH:
            raise ValidationFailed(f"at most {MAX_BATCH} visits", field="visitIds")
        visits = await self.visits.get_many(visit_ids)
        if len(visits) != len(visit_ids):
            raise NotFound(
                f"{len(visit_ids) - len(visits)} of the visits do not exist", field="visitIds"
            )
        if any(visit.clinic_id != order.clinic_id for visit in visits.values()):
            raise ValidationFailed("a visit took place at another clinic", field="visitIds")
        cases = await self.cases.get_many(case_ids)
        if len(cases) != len(case_ids):
            raise NotFound(
                f"{len(case_ids) - len(cases)} of the cases do not exist", field="caseIds"
            )
        if any(case.clinic_id != order.clinic_id for case in cases.values()):
            raise ValidationFailed("a case is supervised at another clinic", field="caseIds")
        with_visits = {visit.case_id for visit in visits.values()}
        pairs: list[tuple[int, int | None]] = [(visits[id_].case_id, id_) for id_ in visit_ids]
        pairs += [(id_, None) for id_ in case_ids if id_ not in with_visits]
        if len(pairs) > MAX_BATCH:
            raise ValidationFailed(
                f"at most {MAX_BATCH} cases and visits together", field="caseIds"
            )
        return pairs

    async def complete(
        self,
        actor: Actor,
        examination_id: int,
        *,
        violation_codes: Sequence[str],
        findings: str | None,
        outcome: ExaminationOutcome,
    ) -> QualityExamination:
        examination = await self.get(examination_id)
        if examination.status is not ExaminationStatus.ORDERED:
            raise InvalidState("the examination is completed already", field="id")
        codes = list(dict.fromkeys(code.strip() for code in violation_codes))
        if len(codes) > MAX_BATCH:
            raise ValidationFailed(f"at most {MAX_BATCH} codes", field="violationCodes")
        if any(not VIOLATION_CODE.fullmatch(code) for code in codes):
            raise ValidationFailed(
                "each code is 1-16 letters, digits, dots or hyphens", field="violationCodes"
            )
        if (outcome is ExaminationOutcome.VIOLATIONS_FOUND) != bool(codes):
            raise ValidationFailed(
                "violations found need their codes, and only then are codes given",
                field="violationCodes",
            )
        before = snapshot(examination, EXAMINATION_FIELDS)
        examination.violation_codes = codes
        examination.findings = (findings or "").strip()[:MAX_TEXT] or None
        examination.outcome, examination.status = outcome, ExaminationStatus.COMPLETED
        examination.completed_at = utcnow()
        await self.examinations.add(examination)
        await self.audit.record(
            actor,
            "quality_examination.complete",
            examination,
            changes_between(before, snapshot(examination, EXAMINATION_FIELDS)),
        )
        return examination
