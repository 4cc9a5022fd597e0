"""SQL of reminders and informing events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from cases.kit.columns import utcnow
from cases.kit.paging import SortKey
from cases.kit.repository import ChildRows, Repository, upsert_insert
from cases.patients.models import Channel, Patient
from cases.registry.models import Insurer, MedicalOrganization
from cases.reminders.models import InformingEvent, Reminder, ReminderKind, ReminderStatus
from cases.supervision.models import (
    SupervisionCase,
    Visit,
)


class ReminderRepository(Repository[Reminder]):
    model = Reminder

    async def plan(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write outbox rows idempotently: a key planned before is left as it is, except that a
        cancelled one (the visit was moved and moved back) becomes pending again."""
        if not rows:
            return
        # One statement may not upsert a key twice; the first row of a key wins, as it would
        # row by row (the second would find the key pending and leave it).
        unique: dict[str, dict[str, Any]] = {}
        for row in rows:
            unique.setdefault(row["idempotency_key"], row)
        table = Reminder.__table__  # type: ignore[attr-defined]
        statement = upsert_insert(self.session, Reminder)
        await self.insert_rows(
            statement.on_conflict_do_update(
                index_elements=[table.c.idempotency_key],
                set_={
                    "status": ReminderStatus.PENDING.value,
                    "scheduled_for": statement.excluded.scheduled_for,
                    "channel": statement.excluded.channel,
                    "updated_at": statement.excluded.updated_at,
                },
                where=table.c.status == ReminderStatus.CANCELLED.value,
            ),
            list(unique.values()),
        )

    async def cancel_pending(
        self, *, visit_ids: Sequence[int] = (), case_id: int | None = None
    ) -> int:
        condition = (
            col(Reminder.visit_id).in_(visit_ids) if visit_ids else col(Reminder.case_id) == case_id
        )
        result = await self.execute(
            sa.update(Reminder)
            .where(condition, col(Reminder.status) == ReminderStatus.PENDING)
            .values(status=ReminderStatus.CANCELLED, updated_at=utcnow())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def due(self, now: datetime, limit: int) -> Sequence[sa.Row[Any]]:
        """Pending reminders whose time has come, with the patient's zone, locked for this dispatcher.

        Served by the partial index on pending rows; other dispatchers skip the locked rows.
        """
        return (
            await self.execute(
                sa.select(col(Reminder.id), col(Reminder.channel), col(Patient.time_zone))
                .join(Patient, col(Patient.id) == col(Reminder.patient_id))
                .where(
                    col(Reminder.status) == ReminderStatus.PENDING,
                    col(Reminder.scheduled_for) <= now,
                )
                .order_by(col(Reminder.scheduled_for), col(Reminder.id))
                .limit(limit)
                .with_for_update(of=Reminder.__table__, skip_locked=True)  # type: ignore[attr-defined]
            )
        ).all()

    async def mark_queued(self, ids: Sequence[int], now: datetime) -> None:
        if ids:
            await self.execute(
                sa.update(Reminder)
                .where(col(Reminder.id).in_(ids), col(Reminder.status) == ReminderStatus.PENDING)
                .values(status=ReminderStatus.QUEUED, queued_at=now, updated_at=now)
            )

    async def postpone(self, until: dict[int, datetime], now: datetime) -> None:
        """Move pending reminders to new times (one statement per distinct time)."""
        by_time: dict[datetime, list[int]] = {}
        for id_, at in until.items():
            by_time.setdefault(at, []).append(id_)
        for at, ids in by_time.items():
            await self.execute(
                sa.update(Reminder)
                .where(col(Reminder.id).in_(ids), col(Reminder.status) == ReminderStatus.PENDING)
                .values(scheduled_for=at, updated_at=now)
            )

    async def stale_queued(self, before: datetime, limit: int) -> list[int]:
        """Queued reminders nobody has touched since `before`: their message was lost."""
        rows = await self.execute(
            sa.select(col(Reminder.id))
            .where(col(Reminder.status) == ReminderStatus.QUEUED, col(Reminder.queued_at) < before)
            .order_by(col(Reminder.queued_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [row.id for row in rows]

    async def touch_queued(self, ids: Sequence[int], now: datetime) -> None:
        if ids:
            await self.execute(
                sa.update(Reminder).where(col(Reminder.id).in_(ids)).values(queued_at=now)
            )

    async def lock(self, id_: int) -> Reminder | None:
        """The reminder, its row locked until the transaction ends (a second sender waits)."""
        found: Reminder | None = await self.scalar(
            sa.select(Reminder)
            .where(col(Reminder.id) == id_)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return found

    async def for_delivery(self, ids: Sequence[int]) -> list[ReminderForDelivery]:
        """The reminders, their rows locked until the transaction ends (a second sender waits),
        each with all that its delivery reads: the patient, the case, its clinic's name, the
        visit and the insurer's hotline. One statement, whatever the number: a read of each
        cost a round trip apiece, the bulk of a send's time on a busy database server. Rows
        are locked in id order, so two senders of overlapping batches cannot deadlock."""
        if not ids:
            return []
        rows = await self.execute(
            sa.select(
                Reminder,
                Patient,
                SupervisionCase,
                Visit,
                col(MedicalOrganization.name).label("clinic_name"),
                col(Insurer.hotline_phone).label("hotline"),
            )
            .join(Patient, col(Patient.id) == col(Reminder.patient_id))
            .outerjoin(Insurer, col(Insurer.id) == col(Patient.insurer_id))
            .outerjoin(SupervisionCase, col(SupervisionCase.id) == col(Reminder.case_id))
            .outerjoin(
                MedicalOrganization,
                col(MedicalOrganization.id) == col(SupervisionCase.clinic_id),
            )
            .outerjoin(Visit, col(Visit.id) == col(Reminder.visit_id))
            .where(col(Reminder.id).in_(set(ids)))
            .order_by(col(Reminder.id))
            .with_for_update(of=Reminder.__table__)  # type: ignore[attr-defined]
            .execution_options(populate_existing=True)
        )
        return [
            ReminderForDelivery(
                row.Reminder,
                row.Patient,
                row.SupervisionCase,
                row.Visit,
                row.clinic_name,
                row.hotline,
            )
            for row in rows
        ]

    async def by_provider_message_id(
        self, provider: str, message_id: str, channel: Channel
    ) -> Reminder | None:
        """The newest reminder `provider` took under `message_id`, locked (a row sent before
        providers were recorded counts as any provider's)."""
        found: Reminder | None = await self.scalar(
            sa.select(Reminder)
            .where(
                col(Reminder.provider_message_id) == message_id,
                col(Reminder.channel) == channel,
                sa.or_(col(Reminder.provider) == provider, col(Reminder.provider).is_(None)),
            )
            .order_by(col(Reminder.sent_at).desc().nulls_last(), col(Reminder.id).desc())
            .limit(1)
            .with_for_update()
        )
        return found

    def listing(self, filter: ReminderFilter) -> sa.Select[Any]:
        return sa.select(Reminder).where(*self._conditions(filter))

    @staticmethod
    def _conditions(filter: ReminderFilter, with_status: bool = True) -> list[Any]:
        conditions: list[Any] = []
        if with_status and filter.statuses:
            conditions.append(col(Reminder.status).in_(filter.statuses))
        for column, value in (
            (Reminder.patient_id, filter.patient_id),
            (Reminder.case_id, filter.case_id),
            (Reminder.channel, filter.channel),
            (Reminder.kind, filter.kind),
        ):
            if value is not None:
                conditions.append(col(column) == value)
        if filter.scheduled_from is not None:
            conditions.append(col(Reminder.scheduled_for) >= filter.scheduled_from)
        if filter.scheduled_before is not None:
            conditions.append(col(Reminder.scheduled_for) < filter.scheduled_before)
        return conditions

    @staticmethod
    def ordering() -> list[SortKey]:
        return [SortKey(col(Reminder.scheduled_for), True), SortKey(col(Reminder.id), True)]

    async def count_by_status(self, filter: ReminderFilter) -> dict[ReminderStatus, int]:
        """How many reminders match the filter in each status (the status filter itself aside)."""
        rows = await self.execute(
            sa.select(col(Reminder.status).label("status"), sa.func.count().label("rows"))
            .where(*self._conditions(filter, with_status=False))
            .group_by(col(Reminder.status))
        )
        counts = dict.fromkeys(ReminderStatus, 0)
        counts.update({ReminderStatus(row.status): row.rows for row in rows})
        return counts

    async def letters(self, start: datetime, end: datetime) -> Sequence[Reminder]:
        """Postal letters handed to the batch in [start, end), in the order they were written."""
        found: Sequence[Reminder] = await self.scalars(
            sa.select(Reminder)
            .where(
                col(Reminder.channel) == Channel.POST,
                col(Reminder.sent_at) >= start,
                col(Reminder.sent_at) < end,
                col(Reminder.status).in_((ReminderStatus.SENT, ReminderStatus.DELIVERED)),
            )
            .order_by(col(Reminder.sent_at), col(Reminder.id))
        )
        return found

    async def letter_times(self, since: datetime) -> Sequence[datetime]:
        """When each letter since `since` went into a batch (the caller groups them by local day)."""
        rows = await self.execute(
            sa.select(col(Reminder.sent_at)).where(
                col(Reminder.channel) == Channel.POST,
                col(Reminder.sent_at) >= since,
                col(Reminder.status).in_((ReminderStatus.SENT, ReminderStatus.DELIVERED)),
            )
        )
        return [row.sent_at for row in rows]


REMINDERS_OF_PATIENT = ChildRows(
    col(Reminder.patient_id),
    (SortKey(col(Reminder.scheduled_for), True), SortKey(col(Reminder.id), True)),
)


@dataclass(frozen=True)
class ReminderForDelivery:
    """A reminder and what its delivery reads (see `ReminderRepository.for_delivery`)."""

    reminder: Reminder
    patient: Patient
    case: SupervisionCase | None
    visit: Visit | None
    clinic_name: str | None
    hotline: str | None


@dataclass(frozen=True)
class ReminderFilter:
    statuses: tuple[ReminderStatus, ...] = ()
    patient_id: int | None = None
    case_id: int | None = None
    channel: Channel | None = None
    kind: ReminderKind | None = None
    scheduled_from: datetime | None = None
    scheduled_before: datetime | None = None


@dataclass(frozen=True)
class InformingFilter:
    patient_id: int | None = None
    case_id: int | None = None
    since: datetime | None = None
    before: datetime | None = None


class InformingEventRepository(Repository[InformingEvent]):
    model = InformingEvent

    async def record(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write informing events, all with the same keys, in one statement."""
        await self.insert_rows(sa.insert(InformingEvent.__table__), rows)  # type: ignore[attr-defined]

    def listing(self, filter: InformingFilter) -> sa.Select[Any]:
        statement = sa.select(InformingEvent)
        if filter.patient_id is not None:
            statement = statement.where(col(InformingEvent.patient_id) == filter.patient_id)
        if filter.case_id is not None:
            statement = statement.where(col(InformingEvent.case_id) == filter.case_id)
        if filter.since is not None:
            statement = statement.where(col(InformingEvent.occurred_at) >= filter.since)
        if filter.before is not None:
            statement = statement.where(col(InformingEvent.occurred_at) < filter.before)
        return statement

    @staticmethod
    def ordering() -> list[SortKey]:
        return [
            SortKey(col(InformingEvent.occurred_at), True),
            SortKey(col(InformingEvent.id), True),
        ]


INFORMING_EVENTS_OF_PATIENT = ChildRows(
    col(InformingEvent.patient_id), tuple(InformingEventRepository.ordering())
)
