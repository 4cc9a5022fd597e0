"""Changes of a case's visits: planned by hand, moved, cancelled, and reported by the clinic."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cases.audit.service import changes_between, snapshot
from cases.kit.actor import Actor
from cases.kit.checks import validated
from cases.kit.columns import utcnow
from cases.kit.dates import plausible, plausible_instant
from cases.kit.errors import Conflict, InvalidState, ValidationFailed
from cases.kit.validation import plain_text
from cases.supervision.models import (
    CaseStatus,
    SupervisionCase,
    Visit,
    VisitStatus,
)
from cases.supervision.policy import next_window_after
from cases.supervision.service import VISIT_FIELDS, SupervisionService
from cases.worklist.models import WorkItemStatus

REASON_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,31}")


class VisitService(SupervisionService):
    """A case's visits; each change plans or withdraws the visit's reminders, as opening a case
    does (the planning it shares with `SupervisionService`)."""

    async def schedule_visit(
        self,
        actor: Actor,
        case_id: int,
        window_start: date,
        window_end: date,
        appointment_at: datetime | None,
    ) -> Visit:
        case = await self.get(case_id, "case_id")
        if case.status is CaseStatus.CLOSED:
            raise InvalidState("no visit can be planned on a closed case", field="case_id")
        self._check_window(window_start, window_end, appointment_at, await self._clinic_zone(case))
        patient = await self.patients.get(case.patient_id)
        assert patient is not None
        return await self._plan_visit(
            actor, case, patient, window_start, window_end, appointment_at
        )

    async def _clinic_zone(self, case: SupervisionCase) -> ZoneInfo:
        clinic = await self.clinics.get(case.clinic_id)
        return ZoneInfo(clinic.time_zone if clinic is not None else self.rules.default_zone)

    @staticmethod
    def _check_window(
        start: date, end: date, appointment_at: datetime | None, zone: ZoneInfo
    ) -> None:
        """A window of plausible dates, in order; an appointment on one of its days, in the
        clinic's zone."""
        plausible(start, "window_start")
        plausible(end, "window_end")
        if end < start:
            raise ValidationFailed("must not be before the window start", field="window_end")
        if appointment_at is not None:
            plausible_instant(appointment_at, "appointment_at")
            if not start <= appointment_at.astimezone(zone).date() <= end:
                raise ValidationFailed(
                    f"must fall within the window {start.isoformat()}..{end.isoformat()}",
                    field="appointment_at",
                )

    async def _planned_visit(self, visit_id: int) -> tuple[Visit, SupervisionCase]:
        visit = await self.get_visit(visit_id)
        if visit.status is not VisitStatus.PLANNED:
            raise InvalidState(f"the visit is {visit.status.value}, not planned", field="visit_id")
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
        self._check_window(
            start, end, appointment_at or visit.appointment_at, await self._clinic_zone(case)
        )
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
        code = reason_code.strip()
        if not REASON_CODE.fullmatch(code):
            raise ValidationFailed(
                "must be 1-32 Latin letters, digits, dots, hyphens or underscores",
                field="reason_code",
            )
        visit, _ = await self._planned_visit(visit_id)
        before = snapshot(visit, VISIT_FIELDS)
        visit.status, visit.reason_code = VisitStatus.CANCELLED, code
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
        today = today or self.rules.today()
        external = validated(lambda: plain_text(external_id, "external_id", 64))
        if not external:
            raise ValidationFailed("must be 1-64 characters", field="external_id")
        existing = await self.visits.by_external_id(clinic_id, external)
        if existing is not None:
            return self._same_report(existing, case_id, attended, visit_date, visit_id)
        case = await self.get(case_id, "case_id")
        if case.clinic_id != clinic_id:
            raise ValidationFailed("the case is supervised at another clinic", field="clinic_id")
        if case.status is CaseStatus.CLOSED:
            raise InvalidState("no visit can be recorded on a closed case", field="case_id")
        if visit_date > today:
            raise ValidationFailed("must not be in the future", field="visit_date")
        if visit_date < case.opened_on:
            raise ValidationFailed("must not be before the case was opened", field="visit_date")
        patient = await self.patients.get(case.patient_id)
        assert patient is not None
        visit = await self._visit_to_record(case, visit_id, visit_date)
        if visit.id is not None:
            # Reports of one visit that arrive together: the first takes the row, the others
            # wait for it and then find their external id recorded.
            locked = await self.visits.locked(visit.id)
            assert locked is not None
            visit = locked
            existing = await self.visits.by_external_id(clinic_id, external)
            if existing is not None:
                return self._same_report(existing, case_id, attended, visit_date, visit_id)
            if visit.status not in (VisitStatus.PLANNED, VisitStatus.MISSED):
                raise InvalidState(f"the visit is {visit.status.value} already", field="visit_id")
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

    @staticmethod
    def _same_report(
        existing: Visit, case_id: int, attended: bool, visit_date: date, visit_id: int | None
    ) -> Visit:
        """A report whose external id is recorded already: the same report changes nothing;
        one that says something else is a conflict naming what differs."""
        if existing.case_id != case_id:
            raise Conflict("this external id was reported for another case", field="external_id")
        if visit_id is not None and existing.id != visit_id:
            raise Conflict("this external id was reported for another visit", field="visit_id")
        if (existing.status is VisitStatus.ATTENDED) != attended:
            recorded = "attended" if existing.status is VisitStatus.ATTENDED else "not attended"
            raise Conflict(f"this external id was reported as {recorded}", field="attended")
        if attended and existing.attended_on != visit_date:
            raise Conflict(
                f"this external id was reported for {existing.attended_on}", field="visit_date"
            )
        return existing

    async def _visit_to_record(
        self, case: SupervisionCase, visit_id: int | None, on: date
    ) -> Visit:
        """The visit a report lands on: the one it names; else the one whose window holds its
        date (a missed one included: the report reverses the miss); else the earliest planned;
        else a visit outside the plan, as it came."""
        if visit_id is not None:
            visit = await self.get_visit(visit_id, "visit_id")
            if visit.case_id != case.id:
                raise ValidationFailed("the visit belongs to another case", field="visit_id")
            if visit.status in (VisitStatus.ATTENDED, VisitStatus.CANCELLED):
                raise InvalidState(f"the visit is {visit.status.value} already", field="visit_id")
            return visit
        candidates = await self.visits.reportable(case.id, on)  # type: ignore[arg-type]
        holding = [v for v in candidates if v.window_start <= on <= v.window_end]
        if holding:
            # A missed window before a planned one: the report is late for it.
            return min(holding, key=lambda v: (v.status is not VisitStatus.MISSED, v.window_start))
        planned = sorted(
            (v for v in candidates if v.status is VisitStatus.PLANNED), key=lambda v: v.window_start
        )
        if planned:
            return planned[0]
        # Nothing planned: the clinic reports a visit outside the plan; record it as it came.
        return Visit(case_id=case.id, clinic_id=case.clinic_id, window_start=on, window_end=on)  # type: ignore[arg-type]
