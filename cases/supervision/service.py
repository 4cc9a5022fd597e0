"""Rules and changes of supervision: opening, changing and closing cases and planning their visits
(the visits' own changes: `cases.supervision.visits`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from cases.audit.service import AuditLog, changes_between, snapshot
from cases.kit.actor import Actor
from cases.kit.checks import check_version, validated
from cases.kit.columns import utcnow
from cases.kit.dates import plausible
from cases.kit.errors import InvalidState, NotFound, ValidationFailed
from cases.kit.paging import PageQuery, PageRequest
from cases.kit.validation import normalize_icd10
from cases.patients.models import Patient
from cases.patients.repository import (
    ConsentRepository,
    PatientRepository,
)
from cases.registry.models import Representative
from cases.registry.repository import ClinicRepository, RepresentativeRepository
from cases.reminders.outbox import outbox_rows
from cases.reminders.policy import (
    first_channel,
    reachability_of,
    reminders_for_visit,
)
from cases.reminders.repository import ReminderRepository
from cases.supervision.annexes import Plan, PlanSource
from cases.supervision.calendar import opened_late
from cases.supervision.models import (
    CaseSource,
    CaseStatus,
    CloseReason,
    SupervisionCase,
    Visit,
    VisitStatus,
)
from cases.supervision.policy import CaseRules, plan_visit_windows
from cases.supervision.repository import (
    CaseFilter,
    CaseOrder,
    SupervisionCaseRepository,
    SupervisionRuleRepository,
    VisitFilter,
    VisitQueries,
)
from cases.supervision.rules import RulesTable, plan_columns
from cases.worklist.models import WorkItemKind
from cases.worklist.policy import work_item_row
from cases.worklist.repository import WorkItemRepository, WorklistRepository

MAX_BATCH = 100

CASE_FIELDS = [
    "patient_id",
    "icd10",
    "clinic_id",
    "physician_name",
    "opened_on",
    "visits_per_year",
    "plan_below_minimum",
    "specialty",
    "schedule",
    "plan_source",
    "rule_id",
    "diagnosed_on",
    "opened_late",
    "review_on",
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


class SupervisionService:
    """Cases: opening, planning their visits, changing, assigning, closing; each change writes its
    reminders."""

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
        self.items = WorkItemRepository.from_session(session)
        self.audit = AuditLog(session)

    async def get(self, case_id: int, field_name: str = "case_id") -> SupervisionCase:
        case = await self.cases.get(case_id)
        if case is None:
            raise NotFound("no such supervision case", field=field_name)
        return case

    async def get_visit(self, visit_id: int, field_name: str = "visit_id") -> Visit:
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

    async def plan_for(
        self, code: str, specialty: str | None, clinic_plan: int | None
    ) -> tuple[Plan, int | None]:
        """The plan a case of `code` gets (`RulesTable.plan`), and the row's id."""
        table = RulesTable.of(await self.rule_rows.all())
        return table.plan(code, specialty, clinic_plan, self.rules.default_visits_per_year)

    @staticmethod
    def apply_plan(case: SupervisionCase, plan: Plan, rule_id: int | None, today: date) -> None:
        """Record a plan on the case (`plan_columns`)."""
        for column, value in plan_columns(plan, rule_id, case.opened_on, today).items():
            setattr(case, column, value)

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
        specialty: str | None = None,
        diagnosed_on: date | None = None,
        today: date | None = None,
    ) -> SupervisionCase:
        today = today or self.rules.today()
        patient = await self.patients.get(patient_id)
        if patient is None:
            raise NotFound("no such patient", field="patient_id")
        code = validated(lambda: normalize_icd10(icd10))
        if await self.clinics.get(clinic_id) is None:
            raise NotFound("no such clinic", field="clinic_id")
        plausible(opened_on, "opened_on")
        if opened_on > today:
            raise ValidationFailed("must not be in the future", field="opened_on")
        if visits_per_year is not None and not 1 <= visits_per_year <= 52:
            raise ValidationFailed("must be between 1 and 52", field="visits_per_year")
        if diagnosed_on is not None:
            plausible(diagnosed_on, "diagnosed_on")
            if diagnosed_on > opened_on:
                raise ValidationFailed("must not be after the opening date", field="diagnosed_on")
        if representative_id is not None:
            await self._representative(representative_id, patient, "representative_id")
        plan, rule_id = await self.plan_for(code, specialty, visits_per_year)
        case = SupervisionCase(
            patient_id=patient_id,
            icd10=code,
            clinic_id=clinic_id,
            physician_name=(physician_name or "").strip() or None,
            opened_on=opened_on,
            visits_per_year=1,
            diagnosed_on=diagnosed_on,
            opened_late=opened_late(diagnosed_on, opened_on),
            representative_id=representative_id,
            source=source,
        )
        self.apply_plan(case, plan, rule_id, today)
        frequency = case.visits_per_year
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
        """The visit's reminders; when no channel reaches the patient, a task for the case's
        representative instead (once per visit)."""
        consents = (await self.consents.granted([patient.id]))[patient.id]  # type: ignore[list-item,index]
        reachability = reachability_of(patient, consents)
        now = self.rules.clock()
        if first_channel(self.rules.policy, reachability) is None:
            await self.items.raise_many(
                [
                    work_item_row(
                        kind=WorkItemKind.UNREACHABLE_CONTACT,
                        owner_id=case.representative_id,
                        patient_id=patient.id,
                        case_id=case.id,
                        visit_id=visit.id,
                        due_at=now,
                        dedup_key=f"unreachable:visit:{visit.id}",
                        now=now,
                    )
                ]
            )
            return
        planned = reminders_for_visit(
            self.rules.policy,
            visit_id=visit.id,  # type: ignore[arg-type]
            window_start=visit.window_start,
            appointment_at=visit.appointment_at,
            zone=ZoneInfo(patient.time_zone),
            reachability=reachability,
            now=now,
        )
        await self.reminders.plan(outbox_rows(planned, patient.id, case.id, visit.id))  # type: ignore[arg-type]

    async def update(
        self,
        actor: Actor,
        case_id: int,
        version: int,
        *,
        icd10: str | None = None,
        physician_name: str | None = None,
        visits_per_year: int | None = None,
        specialty: str | None = None,
    ) -> SupervisionCase:
        case = await self.get(case_id)
        check_version(case, version, "case")
        if case.status is CaseStatus.CLOSED:
            raise InvalidState("a closed case cannot be edited", field="case_id")
        before = snapshot(case, CASE_FIELDS)
        if icd10 is not None:
            case.icd10 = validated(lambda: normalize_icd10(icd10))
        if physician_name is not None:
            case.physician_name = physician_name.strip() or None
        if visits_per_year is not None or icd10 is not None or specialty is not None:
            if visits_per_year is not None and not 1 <= visits_per_year <= 52:
                raise ValidationFailed("must be between 1 and 52", field="visits_per_year")
            # The clinic's own number stays the clinic's until it sends another.
            clinic_plan = visits_per_year
            if clinic_plan is None and case.plan_source == PlanSource.CLINIC.value:
                clinic_plan = case.visits_per_year
            plan, rule_id = await self.plan_for(
                case.icd10, specialty or case.specialty, clinic_plan
            )
            self.apply_plan(case, plan, rule_id, self.rules.today())
        after = snapshot(case, CASE_FIELDS)
        if after != before:
            case.updated_at = utcnow()
            await self.cases.add(case)
            await self.audit.record(actor, "case.update", case, changes_between(before, after))
        if after["visits_per_year"] != before["visits_per_year"]:
            await self._replan(actor, case)
        return case

    async def _replan(self, actor: Actor, case: SupervisionCase) -> None:
        """After a change of frequency: planned windows not yet open are cancelled with their
        pending reminders, and unless a window is open now, the next one follows the new
        frequency. Attended, missed and open windows stay as they are."""
        today = self.rules.today()
        planned = await self.visits.future_planned(case.id)  # type: ignore[arg-type]
        ahead = [visit for visit in planned if visit.window_start > today]
        for visit in ahead:
            before = snapshot(visit, VISIT_FIELDS)
            visit.status, visit.reason_code = VisitStatus.CANCELLED, "replanned"
            visit.updated_at, visit.changed_by = utcnow(), actor.label
            await self.visits.add(visit)
            await self.audit.record(
                actor, "visit.cancel", visit, changes_between(before, snapshot(visit, VISIT_FIELDS))
            )
        if ahead:
            await self.reminders.cancel_pending(
                visit_ids=[visit.id for visit in ahead if visit.id is not None]
            )
        if len(ahead) < len(planned):
            return
        patient = await self.patients.get(case.patient_id)
        assert patient is not None
        for start, end in plan_visit_windows(case.opened_on, case.visits_per_year, today):
            await self._plan_visit(actor, case, patient, start, end, None)

    async def close(
        self, actor: Actor, case_id: int, version: int, reason: CloseReason, closed_on: date
    ) -> SupervisionCase:
        case = await self.get(case_id)
        check_version(case, version, "case")
        if case.status is CaseStatus.CLOSED:
            raise InvalidState("the case is closed already", field="case_id")
        if closed_on < case.opened_on or closed_on > self.rules.today():
            raise ValidationFailed("must be between the opening date and today", field="closed_on")
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
            raise ValidationFailed("must name at least one case", field="case_ids")
        if len(case_ids) > MAX_BATCH:
            raise ValidationFailed(f"at most {MAX_BATCH} cases at a time", field="case_ids")
        found = await self.cases.get_many(case_ids)
        missing = [id_ for id_ in case_ids if id_ not in found]
        if missing:
            raise NotFound(f"{len(missing)} of the cases do not exist", field="case_ids")
        patients = await self.patients.get_many([case.patient_id for case in found.values()])
        changed = []
        for case_id in dict.fromkeys(case_ids):
            case = found[case_id]
            await self._representative(
                representative_id, patients[case.patient_id], "representative_id"
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
        # Their open work items go with them: the new representative's worklist shows them.
        await self.items.move_open_items(
            [case.id for case in changed if case.id is not None], representative_id
        )
        return changed
