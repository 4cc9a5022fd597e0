"""Rules and changes of the worklist: taking, resolving, reassigning items; logging contact attempts."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cases.audit.service import AuditLog, changes_between, snapshot
from cases.kit.actor import Actor
from cases.kit.checks import validated
from cases.kit.columns import utcnow
from cases.kit.errors import InvalidState, NotFound, ValidationFailed
from cases.kit.paging import PageQuery, PageRequest
from cases.kit.validation import plain_text
from cases.patients.repository import (
    PatientRepository,
)
from cases.registry.repository import RepresentativeRepository
from cases.reminders.models import InformingEvent, InformingMethod, InformingOutcome
from cases.reminders.repository import InformingEventRepository
from cases.worklist.models import (
    ContactAttempt,
    ContactMethod,
    ContactOutcome,
    WorkItem,
    WorkItemStatus,
)
from cases.worklist.repository import (
    ContactAttemptRepository,
    WorkItemFilter,
    WorklistRepository,
)

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
            raise NotFound("no such work item", field="work_item_id")
        return item

    async def start(self, actor: Actor, item_id: int) -> WorkItem:
        item = await self.get(item_id)
        if item.status is WorkItemStatus.DONE:
            raise InvalidState("the work item is done", field="work_item_id")
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
            raise InvalidState("the work item is done already", field="work_item_id")
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
                "name the representative who made the contact", field="representative_id"
            )
        if await self.representatives.get(who) is None:
            raise NotFound("no such representative", field="representative_id")
        if await self.patients.get(patient_id) is None:
            raise NotFound("no such patient", field="patient_id")
        if work_item_id is not None:
            item = await self.get(work_item_id)
            if item.patient_id != patient_id:
                raise ValidationFailed(
                    "the work item concerns another patient", field="work_item_id"
                )
        attempt = ContactAttempt(
            patient_id=patient_id,
            case_id=case_id,
            work_item_id=work_item_id,
            representative_id=who,
            method=method,
            outcome=outcome,
            note=validated(lambda: plain_text(note or "", "note", 2000, lines=True)) or None,
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
        if work_item_id is not None:
            await self._follow_up(actor, work_item_id, outcome)
        return attempt

    async def _follow_up(self, actor: Actor, item_id: int, outcome: ContactOutcome) -> None:
        """What a contact does to the item it was made for: one that reached the person
        resolves it; one that did not takes it in hand (open → in progress)."""
        item = await self.get(item_id)
        if item.status is WorkItemStatus.DONE:
            return
        if outcome in REACHED_OUTCOMES:
            await self.resolve(actor, item_id, f"contact: {outcome.value}")
        elif item.status is WorkItemStatus.OPEN:
            await self.start(actor, item_id)
