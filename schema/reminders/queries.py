"""Root query fields of reminders: the outbox, informing events, letter batches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta

import strawberry

from cases.kit.columns import utcnow
from cases.kit.paging import PageRequest, build_page
from cases.reminders.models import ReminderStatus
from cases.reminders.operations import PostalBatches, ReminderOperations
from cases.reminders.repository import InformingFilter, ReminderFilter
from schema.core.ids import optional_row_id
from schema.core.relations import constant_count
from schema.core.relay import Connection, Info
from schema.reminders.inputs import InformingFilterInput, ReminderFilterInput
from schema.reminders.types import InformingEvent, LetterBatch, Reminder, ReminderCounts

LETTER_BATCH_DAYS = 31


@strawberry.type
class ReminderConnection(Connection[Reminder]):
    counts_by_status: strawberry.Private[
        Callable[[], Awaitable[dict[ReminderStatus, int]]] | None
    ] = None

    @strawberry.field(
        description="Reminders matching the filter in each status (status filter aside)."
    )
    async def counts(self) -> ReminderCounts:
        assert self.counts_by_status is not None
        counts = await self.counts_by_status()
        return ReminderCounts(**{status.value: count for status, count in counts.items()})


@strawberry.type
class RemindersQuery:
    @strawberry.field(
        description="The outbox for operators: reminders latest first, with counts by status; "
        "dead letters are `statuses: [DEAD]`."
    )
    async def reminders(
        self,
        info: Info,
        filter: ReminderFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ReminderConnection:
        given = filter or ReminderFilterInput()
        domain_filter = ReminderFilter(
            statuses=tuple(given.statuses or ()),
            patient_id=optional_row_id(given.patient_id, "Patient", "filter.patientId"),
            case_id=optional_row_id(given.case_id, "SupervisionCase", "filter.caseId"),
            channel=given.channel,
            kind=given.kind,
            scheduled_from=given.scheduled_from,
            scheduled_before=given.scheduled_before,
        )
        operations = ReminderOperations(info.context.session)
        query = operations.page_query(domain_filter, PageRequest.of(first, after))
        connection = ReminderConnection.listed(info, query, Reminder.from_model)
        connection.counts_by_status = lambda: operations.counts(domain_filter)
        return connection

    @strawberry.field(
        description="Informing events (each attempt: type, method, date), latest first, "
        "per patient or per case."
    )
    async def informing_events(
        self,
        info: Info,
        filter: InformingFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[InformingEvent]:
        given = filter or InformingFilterInput()
        domain_filter = InformingFilter(
            patient_id=optional_row_id(given.patient_id, "Patient", "filter.patientId"),
            case_id=optional_row_id(given.case_id, "SupervisionCase", "filter.caseId"),
            since=given.since,
            before=given.before,
        )
        query = ReminderOperations(info.context.session).informing_page_query(
            domain_filter, PageRequest.of(first, after)
        )
        return Connection.listed(info, query, InformingEvent.from_model)

    @strawberry.field(
        description=f"Daily batches of postal letters, latest first (the last {LETTER_BATCH_DAYS} days "
        "unless `since` says otherwise); each is a CSV file to download."
    )
    async def letter_batches(
        self,
        info: Info,
        since: date | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[LetterBatch]:
        zone = info.context.request.app.state.settings.zone
        start = since or (utcnow().astimezone(zone).date() - timedelta(days=LETTER_BATCH_DAYS))
        request = PageRequest.of(first, after)
        days = await PostalBatches(info.context.session, zone).days(start)
        if request.after is not None:
            last = date.fromisoformat(str(request.after[0]))
            days = [(day, count) for day, count in days if day < last]
        batches = [
            LetterBatch(day=day, letters=count, download_path=f"/letters/{day.isoformat()}.csv")
            for day, count in days
        ]
        page = build_page(batches[: request.first + 1], lambda b: [b.day.isoformat()], request)
        return Connection.of(page, lambda batch: batch, lambda: constant_count(len(days)))
