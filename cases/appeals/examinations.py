"""Quality-of-care examinations: ordering and completing them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from cases.appeals.models import (
    ExaminationKind,
    ExaminationOutcome,
    ExaminationReason,
    ExaminationStatus,
    ExaminedCase,
    QualityExamination,
)
from cases.appeals.repository import (
    ExaminationFilter,
    QualityExaminationRepository,
)
from cases.appeals.service import AppealService
from cases.audit.service import AuditLog, changes_between, snapshot
from cases.kit.actor import Actor
from cases.kit.checks import MAX_TEXT, checked_text, local_date
from cases.kit.columns import utcnow
from cases.kit.errors import InvalidState, NotFound, ValidationFailed
from cases.kit.paging import PageQuery, PageRequest
from cases.patients.repository import PatientRepository
from cases.registry.repository import ClinicRepository
from cases.supervision.policy import CaseRules
from cases.supervision.repository import SupervisionCaseRepository, VisitQueries
from cases.supervision.service import MAX_BATCH

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

    async def get(
        self, examination_id: int, field_name: str = "examination_id"
    ) -> QualityExamination:
        examination = await self.examinations.get(examination_id)
        if examination is None:
            raise NotFound("no such quality examination", field=field_name)
        return examination

    def page_query(self, filter: ExaminationFilter, request: PageRequest) -> PageQuery:
        return PageQuery(self.examinations.listing(filter), self.examinations.ordering(), request)

    async def order(
        self, actor: Actor, order: ExaminationOrder, today: date | None = None
    ) -> QualityExamination:
        today = today or local_date(utcnow(), self.appeals.zone)
        if order.kind is ExaminationKind.TARGETED and order.reason is None:
            raise ValidationFailed("a targeted examination says why it is ordered", field="reason")
        if order.kind is ExaminationKind.SCHEDULED and order.reason is not None:
            raise ValidationFailed("a scheduled examination has no reason", field="reason")
        if await self.clinics.get(order.clinic_id) is None:
            raise NotFound("no such clinic", field="clinic_id")
        if order.period_end < order.period_start:
            raise ValidationFailed("must not be before the period start", field="period_end")
        if order.due_on < today:
            raise ValidationFailed("must not be in the past", field="due_on")
        expert = checked_text(order.expert_name, "expert_name", 200)
        insurer_id = order.insurer_id
        if order.appeal_id is not None:
            appeal = await self.appeals.get(order.appeal_id, "appeal_id")
            if appeal.clinic_id not in (None, order.clinic_id):
                raise ValidationFailed("the appeal concerns another clinic", field="appeal_id")
            insurer_id = appeal.insurer_id
        elif order.reason is ExaminationReason.COMPLAINT:
            raise ValidationFailed("name the complaint the examination follows", field="appeal_id")
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
                "name the insurer that orders the examination", field="insurer_id"
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
            raise ValidationFailed(f"at most {MAX_BATCH} cases", field="case_ids")
        if len(visit_ids) > MAX_BATCH:
            raise ValidationFailed(f"at most {MAX_BATCH} visits", field="visit_ids")
        visits = await self.visits.get_many(visit_ids)
        if len(visits) != len(visit_ids):
            raise NotFound(
                f"{len(visit_ids) - len(visits)} of the visits do not exist", field="visit_ids"
            )
        if any(visit.clinic_id != order.clinic_id for visit in visits.values()):
            raise ValidationFailed("a visit took place at another clinic", field="visit_ids")
        cases = await self.cases.get_many(case_ids)
        if len(cases) != len(case_ids):
            raise NotFound(
                f"{len(case_ids) - len(cases)} of the cases do not exist", field="case_ids"
            )
        if any(case.clinic_id != order.clinic_id for case in cases.values()):
            raise ValidationFailed("a case is supervised at another clinic", field="case_ids")
        with_visits = {visit.case_id for visit in visits.values()}
        pairs: list[tuple[int, int | None]] = [(visits[id_].case_id, id_) for id_ in visit_ids]
        pairs += [(id_, None) for id_ in case_ids if id_ not in with_visits]
        if len(pairs) > MAX_BATCH:
            raise ValidationFailed(
                f"at most {MAX_BATCH} cases and visits together", field="case_ids"
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
            raise InvalidState("the examination is completed already", field="examination_id")
        codes = list(dict.fromkeys(code.strip() for code in violation_codes))
        if len(codes) > MAX_BATCH:
            raise ValidationFailed(f"at most {MAX_BATCH} codes", field="violation_codes")
        if any(not VIOLATION_CODE.fullmatch(code) for code in codes):
            raise ValidationFailed(
                "each code is 1-16 letters, digits, dots or hyphens", field="violation_codes"
            )
        if (outcome is ExaminationOutcome.VIOLATIONS_FOUND) != bool(codes):
            raise ValidationFailed(
                "violations found need their codes, and only then are codes given",
                field="violation_codes",
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
