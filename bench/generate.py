"""A region at benchmark scale, written with COPY: the same seed and size give the same rows.

Per patient about 1.3 supervision cases and 10 visits (attended or missed history, one planned
visit ahead per active case), an invitation reminder for most visits, a work item for each
missed visit (open while it is recent), and a contact attempt for most work items. Ids are
assigned here, so every row is known before it is written and COPY needs no round trip.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import asyncpg

from api.demo import (
    CLINICS,
    DIAGNOSES,
    FEMALE_FIRST_NAMES,
    MALE_FIRST_NAMES,
    MOBILE_PREFIXES,
    PATRONYMICS,
    SURNAMES,
    VISITS_PER_YEAR,
    planned_by_clinics,
)
from cases.kit.validation import enp_check_digit, name_search_key, snils_check_number
from cases.supervision.annexes import Plan
from cases.supervision.calendar import opened_late
from cases.supervision.models import SupervisionRule
from cases.supervision.rules import RulesTable, plan_columns

# The region's "today": fixed, so that a seed gives the same rows whenever it is generated.
ANCHOR: Final = date(2026, 11, 20)
ANCHOR_AT: Final = datetime(2026, 11, 20, 9, tzinfo=UTC)
GRACE_DAYS: Final = 7
WINDOW_DAYS: Final = 30
# One third-level representative per this many patients (12 for 17 thousand in the region).
PATIENTS_PER_REPRESENTATIVE: Final = 1400
PATIENTS_PER_CHUNK: Final = 5000
# Work items of misses older than this are done; newer ones are still open.
OPEN_ITEM_DAYS: Final = 365
INSURERS: Final = (("VTB-MS", "ВТБ МС", "8-800-333-222-5"), ("INGOS-M", "Ингосстрах-М", None))

# Tables in the order they are filled, with the columns COPY writes.
COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "insurer": ("id", "code", "name", "hotline_phone", "created_at"),
    "medical_organization": ("id", "code", "name", "address", "time_zone", "created_at"),
    "representative": (
        "id", "insurer_id", "level", "last_name", "first_name", "middle_name", "phone",
        "email", "active", "subject", "is_supervisor", "created_at",
    ),
    "patient": (
        "id", "enp", "snils", "last_name", "first_name", "middle_name", "search_name",
        "birth_date", "sex", "phone", "phone_extra", "email", "postal_address", "time_zone",
        "insurer_id", "attached_clinic_id", "version", "created_at", "updated_at",
    ),
    "notification_consent": ("id", "patient_id", "channel", "granted", "changed_at", "method"),
    "supervision_case": (
        "id", "patient_id", "icd10", "clinic_id", "physician_name", "opened_on",
        "visits_per_year", "plan_below_minimum", "representative_id", "status", "closed_on",
        "close_reason", "source", "version", "created_at", "updated_at", "specialty",
        "schedule", "plan_source", "rule_id", "diagnosed_on", "opened_late", "review_on",
    ),
    "visit": (
        "id", "case_id", "clinic_id", "window_start", "window_end", "appointment_at",
        "status", "attended_on", "missed_at", "external_id", "reason_code", "changed_by",
        "created_at", "updated_at",
    ),
    "reminder": (
        "id", "patient_id", "case_id", "visit_id", "campaign", "kind", "channel", "template",
        "scheduled_for", "status", "skip_reason", "attempts", "last_error",
        "provider_message_id", "idempotency_key", "sent_at", "delivered_at", "created_at",
        "updated_at",
    ),
    "work_item": (
        "id", "kind", "owner_id", "patient_id", "case_id", "visit_id", "reminder_id",
        "priority", "due_at", "status", "resolution", "resolved_at", "dedup_key", "created_at",
    ),
    "contact_attempt": (
        "id", "patient_id", "case_id", "work_item_id", "representative_id", "method",
        "outcome", "note", "attempted_at",
    ),
}  # fmt: skip
GENERATED: Final = tuple(COLUMNS)

Row = tuple[Any, ...]


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@dataclass
class Counters:
    """The next id of each table; ids start at 1 like the sequences they stand in for."""

    next_id: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 1))

    def take(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value


@dataclass
class Reference:
    clinic_ids: list[int]
    clinic_weights: list[int]
    # insurer id -> third-level representatives owning caseloads
    representatives: dict[int, list[int]]


def reference_rows(patients: int, ids: Counters) -> tuple[dict[str, list[Row]], Reference]:
    created = ANCHOR_AT - timedelta(days=3 * 365)
    rows: dict[str, list[Row]] = {"insurer": [], "medical_organization": [], "representative": []}
    for code, name, hotline in INSURERS:
        rows["insurer"].append((ids.take("insurer"), code, name, hotline, created))
    clinic_ids, weights = [], []
    for n, (name, town, weight) in enumerate(CLINICS):
        clinic_id = ids.take("medical_organization")
        rows["medical_organization"].append(
            (clinic_id, f"26{n:04d}", name, town.name, "Europe/Moscow", created)
        )
        clinic_ids.append(clinic_id)
        weights.append(weight)
    per_insurer = max(1, patients // PATIENTS_PER_REPRESENTATIVE // len(INSURERS))
    representatives: dict[int, list[int]] = {}
    for insurer_id in (row[0] for row in rows["insurer"]):
        representatives[insurer_id] = []
        for n in range(per_insurer):
            rep_id = ids.take("representative")
            rows["representative"].append(
                (
                    rep_id, insurer_id, 3, SURNAMES[n % len(SURNAMES)],
                    FEMALE_FIRST_NAMES[n % len(FEMALE_FIRST_NAMES)], None, None,
                    f"rep{rep_id}@insurer.example", True, f"bench-rep-{rep_id}", False, created,
                )
            )  # fmt: skip
            representatives[insurer_id].append(rep_id)
    return rows, Reference(clinic_ids, weights, representatives)


class Plans:
    """The plans of the rules table, kept per code and clinic plan (a region has few of each)."""

    def __init__(self, table: RulesTable) -> None:
        self.table = table
        self.known: dict[tuple[str, int | None, int], tuple[Plan, int | None]] = {}

    def of(self, icd10: str, sent: int | None, usual: int) -> tuple[Plan, int | None]:
        key = (icd10, sent, usual)
        found = self.known.get(key)
        if found is None:
            found = self.known[key] = planned_by_clinics(
                self.table, icd10, None, sent, lambda: usual
            )
        return found


async def _rules_table(connection: asyncpg.Connection) -> RulesTable:
    """The migrated database's rules table (the order's rows: `dispensary migrate` loads them)."""
    records = await connection.fetch(
        "SELECT id, annex, row, specialty, icd10, condition, schedule, duration, remark, source"
        " FROM supervision_rule ORDER BY id"
    )
    if not records:
        raise RuntimeError("the rules table is empty: migrate with `dispensary migrate` first")
    return RulesTable.of([SupervisionRule(**dict(record)) for record in records])


class PatientChunk:
    """The rows of patients [first, first + count): a seed and a chunk index fix them all."""

    def __init__(
        self, seed: int, index: int, reference: Reference, ids: Counters, plans: Plans
    ) -> None:
        self.rng = random.Random(f"{seed}:{index}")
        self.reference = reference
        self.plans = plans
        self.ids = ids
        self.rows: dict[str, list[Row]] = {table: [] for table in GENERATED[3:]}

    def patient(self) -> None:
        rng, ids = self.rng, self.ids
        patient_id = ids.take("patient")
        male = rng.random() < 0.45
        surname = rng.choice(SURNAMES)
        if not male and surname.endswith(("ов", "ев", "ёв", "ин")):
            surname += "а"
        elif not male and surname.endswith("ий"):
            surname = surname[:-2] + "ая"
        first = rng.choice(MALE_FIRST_NAMES if male else FEMALE_FIRST_NAMES)
        middle = rng.choice(PATRONYMICS)[0 if male else 1]
        enp15 = f"{2600000000000000 // 10 + patient_id:015d}"
        snils9 = f"{100000000 + patient_id:09d}"
        snils = snils9 + snils_check_number(snils9) if rng.random() < 0.8 else None
        phone = f"+7{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"
        email = f"p{patient_id}@mail.example" if rng.random() < 0.3 else None
        insurer_id = 1 if rng.random() < 0.6 else 2
        clinic_id = rng.choices(self.reference.clinic_ids, self.reference.clinic_weights)[0]
        birth = ANCHOR - timedelta(days=rng.randrange(35 * 365, 90 * 365))
        registered = _at(ANCHOR - timedelta(days=rng.randrange(365, 6 * 365)))
        self.rows["patient"].append(
            (
                patient_id, enp15 + enp_check_digit(enp15), snils, surname, first, middle,
                name_search_key(surname, first, middle), birth, "male" if male else "female",
                phone, None, email, None, "Europe/Moscow", insurer_id, clinic_id, 1,
                registered, registered,
            )
        )  # fmt: skip
        sms_consent = rng.random() < 0.9
        self.rows["notification_consent"].append(
            (ids.take("notification_consent"), patient_id, "sms", sms_consent, registered, "written form")
        )  # fmt: skip
        if email:
            self.rows["notification_consent"].append(
                (ids.take("notification_consent"), patient_id, "email", True, registered, "written form")
            )  # fmt: skip
        owner = rng.choice(self.reference.representatives[insurer_id])
        cases = 1 + (rng.random() < 0.3)
        for _ in range(cases):
            self.case(patient_id, clinic_id, owner, registered, sms_consent)

    def case(
        self, patient_id: int, clinic_id: int, owner: int, registered: datetime, sms: bool
    ) -> None:
        rng, ids = self.rng, self.ids
        case_id = ids.take("supervision_case")
        opened = registered.date() + timedelta(days=rng.randrange(0, 60))
        clinic_plan = rng.choices(*zip(*VISITS_PER_YEAR, strict=True))[0]
        closed = rng.random() < 0.1
        closed_on = ANCHOR - timedelta(days=rng.randrange(1, 300)) if closed else None
        if closed_on is not None and closed_on <= opened:
            closed_on = opened + timedelta(days=1)
        icd10 = rng.choices(*zip(*DIAGNOSES, strict=True))[0]
        # The plan follows the rules table; a clinic sends its own number now and then, and
        # always where the order gives none.
        plan = self.plans.of(icd10, clinic_plan if rng.random() < 0.1 else None, clinic_plan)
        columns = plan_columns(*plan, opened, ANCHOR)
        per_year = columns["visits_per_year"]
        diagnosed = opened - timedelta(days=rng.choice((1, 2, 3, 5, 8)))
        self.rows["supervision_case"].append(
            (
                case_id, patient_id, icd10, clinic_id, None, opened, per_year,
                columns["plan_below_minimum"], owner,
                "closed" if closed else "active", closed_on, "moved_away" if closed else None,
                "clinic", 1, _at(opened), _at(closed_on or opened), columns["specialty"],
                columns["schedule"], columns["plan_source"], columns["rule_id"], diagnosed,
                opened_late(diagnosed, opened), columns["review_on"],
            )
        )  # fmt: skip
        step = timedelta(days=365 // per_year)
        start = opened + timedelta(days=rng.randrange(0, 30))
        last_status = None
        end_of_history = closed_on or ANCHOR - timedelta(days=GRACE_DAYS)
        while start + timedelta(days=WINDOW_DAYS) < end_of_history:
            end = start + timedelta(days=WINDOW_DAYS)
            missed = rng.random() < 0.15
            last_status = self.visit(
                case_id, patient_id, clinic_id, owner, start, end, missed, last_status, sms
            )
            start += step
        if not closed:
            # The next visit ahead: its window ends after the anchor, so nothing is overdue yet.
            start = max(start, ANCHOR - timedelta(days=rng.randrange(0, WINDOW_DAYS - GRACE_DAYS)))
            self.visit(case_id, patient_id, clinic_id, owner, start, None, None, last_status, sms)

    def visit(
        self,
        case_id: int,
        patient_id: int,
        clinic_id: int,
        owner: int,
        start: date,
        end: date | None,
        missed: bool | None,
        previous: str | None,
        sms: bool,
    ) -> str:
        rng, ids = self.rng, self.ids
        visit_id = ids.take("visit")
        end = end or start + timedelta(days=WINDOW_DAYS)
        if missed is None:
            status, attended_on, missed_at, external = "planned", None, None, None
        elif missed:
            status, attended_on, missed_at, external = "missed", None, _at(end + timedelta(days=GRACE_DAYS + 1)), None  # fmt: skip
        else:
            attended = start + timedelta(days=rng.randrange(WINDOW_DAYS))
            status, attended_on, missed_at, external = "attended", attended, None, f"{clinic_id}-{visit_id}"  # fmt: skip
        changed = _at(attended_on or (missed_at.date() if missed_at else start))
        self.rows["visit"].append(
            (
                visit_id, case_id, clinic_id, start, end, None, status, attended_on, missed_at,
                external, None, "bench", _at(start - timedelta(days=30)), changed,
            )
        )  # fmt: skip
        if rng.random() < 0.6:
            scheduled = _at(start)
            if status == "planned" and start > ANCHOR:
                reminder_status, sent = "pending", None
            elif not sms:
                reminder_status, sent = "skipped", None
            else:
                reminder_status, sent = (
                    ("delivered" if rng.random() < 0.92 else "failed"),
                    scheduled,
                )
            self.rows["reminder"].append(
                (
                    ids.take("reminder"), patient_id, case_id, visit_id, None, "invitation",
                    "sms", "invitation", scheduled, reminder_status,
                    "no_consent" if reminder_status == "skipped" else None,
                    1 if sent else 0, "gateway rejected" if reminder_status == "failed" else None,
                    f"msg-{visit_id}" if sent else None,
                    f"visit:{visit_id}:invitation:{start.isoformat()}", sent,
                    sent + timedelta(minutes=1) if reminder_status == "delivered" and sent else None,
                    _at(start - timedelta(days=30)), scheduled,
                )
            )  # fmt: skip
        if status == "missed" and missed_at is not None:
            self.work_item(case_id, patient_id, visit_id, owner, missed_at, previous == "missed")
        return status

    def work_item(
        self,
        case_id: int,
        patient_id: int,
        visit_id: int,
        owner: int,
        raised: datetime,
        second_in_a_row: bool,
    ) -> None:
        rng, ids = self.rng, self.ids
        item_id = ids.take("work_item")
        is_open = (ANCHOR_AT - raised).days < OPEN_ITEM_DAYS
        kind, priority = ("escalation", 1) if second_in_a_row else ("missed_visit", 2)
        self.rows["work_item"].append(
            (
                item_id, kind, owner, patient_id, case_id, visit_id, None, priority, raised,
                "open" if is_open else "done", None if is_open else "reached by phone",
                None if is_open else raised + timedelta(days=3), f"missed:{visit_id}", raised,
            )
        )  # fmt: skip
        if rng.random() < 0.7:
            outcome = rng.choice(("no_answer", "reached", "will_attend", "wrong_number"))
            self.rows["contact_attempt"].append(
                (
                    ids.take("contact_attempt"), patient_id, case_id, item_id, owner, "call",
                    outcome, None, raised + timedelta(days=1, hours=rng.randrange(8)),
                )
            )  # fmt: skip


def chunks(patients: int) -> Iterator[tuple[int, int]]:
    """(index, size) of each chunk of patients."""
    for index, first in enumerate(range(0, patients, PATIENTS_PER_CHUNK)):
        yield index, min(PATIENTS_PER_CHUNK, patients - first)


async def _secondary_indexes(connection: asyncpg.Connection) -> list[tuple[str, str]]:
    """Indexes that back no constraint: dropped before the load and built once after it."""
    rows = await connection.fetch(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY($1::text[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """,
        list(GENERATED),
    )
    return [(row["indexname"], row["indexdef"]) for row in rows]


async def _copy(connection: asyncpg.Connection, rows: dict[str, list[Row]]) -> None:
    for table in GENERATED:
        if rows.get(table):
            await connection.copy_records_to_table(
                table, records=rows[table], columns=list(COLUMNS[table])
            )


async def _advance_sequences(connection: asyncpg.Connection, ids: Counters) -> None:
    """Sequences continue after the ids the generator assigned."""
    for table in GENERATED:
        await connection.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), $1, false)",
            ids.next_id[table],
        )


async def generate(dsn: str, patients: int, seed: int) -> dict[str, Any]:
    """Fill an empty, migrated database; returns the row counts and how long each step took."""
    started = time.perf_counter()
    connection = await asyncpg.connect(dsn)
    try:
        indexes = await _secondary_indexes(connection)
        # Foreign keys are checked by triggers; the generator keeps them true by construction.
        await connection.execute("SET session_replication_role = replica")
        for name, _ in indexes:
            await connection.execute(f'DROP INDEX "{name}"')
        ids = Counters()
        plans = Plans(await _rules_table(connection))
        rows, reference = reference_rows(patients, ids)
        await _copy(connection, rows)
        counts = {table: len(table_rows) for table, table_rows in rows.items()}
        for index, size in chunks(patients):
            chunk = PatientChunk(seed, index, reference, ids, plans)
            for _ in range(size):
                chunk.patient()
            await _copy(connection, chunk.rows)
            for table, table_rows in chunk.rows.items():
                counts[table] = counts.get(table, 0) + len(table_rows)
        loaded = time.perf_counter()
        for _, definition in indexes:
            await connection.execute(definition)
        await _advance_sequences(connection, ids)
        await connection.execute("SET session_replication_role = origin")
        await connection.execute("VACUUM (ANALYZE)")
        finished = time.perf_counter()
    finally:
        await connection.close()
    return {
        "rows": counts,
        "seconds": {
            "copy": round(loaded - started, 1),
            "indexes_and_analyze": round(finished - loaded, 1),
            "total": round(finished - started, 1),
        },
    }


def due_reminder_rows(
    count: int, due_at: datetime, ids: Counters
) -> Iterator[dict[str, list[Row]]]:
    """The reminder pipeline's outbox, a chunk of patients at a time: each patient has a mobile
    number and SMS consent, one active case and its planned visit, and that visit's invitation,
    pending and due at `due_at`. The reference rows (insurers, clinics, representatives) first."""
    rows, reference = reference_rows(count, ids)
    yield rows
    day = due_at.date()
    for _, size in chunks(count):
        chunk: dict[str, list[Row]] = {table: [] for table in GENERATED[3:]}
        for _ in range(size):
            patient_id = ids.take("patient")
            case_id, visit_id = ids.take("supervision_case"), ids.take("visit")
            insurer_id = 1 + patient_id % len(INSURERS)
            clinic_id = reference.clinic_ids[patient_id % len(reference.clinic_ids)]
            owners = reference.representatives[insurer_id]
            registered = due_at - timedelta(days=400)
            enp15 = f"{2600000000000000 // 10 + patient_id:015d}"
            surname, first, middle = SURNAMES[patient_id % len(SURNAMES)], "Пётр", "Сергеевич"
            chunk["patient"].append(
                (
                    patient_id, enp15 + enp_check_digit(enp15), None, surname, first, middle,
                    name_search_key(surname, first, middle), date(1960, 1, 1), "male",
                    f"+79{patient_id:09d}", None, None, None, "Europe/Moscow", insurer_id,
                    clinic_id, 1, registered, registered,
                )
            )  # fmt: skip
            chunk["notification_consent"].append(
                (ids.take("notification_consent"), patient_id, "sms", True, registered, "written form")
            )  # fmt: skip
            chunk["supervision_case"].append(
                (
                    case_id, patient_id, "I10", clinic_id, None, registered.date(), 2, False,
                    owners[patient_id % len(owners)], "active", None, None, "clinic", 1,
                    registered, registered,
                    # The clinic's own plan of two visits a year (the order's minimum is one).
                    "therapist", "per_year:2", "clinic", None, None, False, None,
                )
            )  # fmt: skip
            chunk["visit"].append(
                (
                    visit_id, case_id, clinic_id, day, day + timedelta(days=WINDOW_DAYS), None,
                    "planned", None, None, None, None, "bench", registered, registered,
                )
            )  # fmt: skip
            chunk["reminder"].append(
                (
                    ids.take("reminder"), patient_id, case_id, visit_id, None, "invitation", "sms",
                    "invitation", due_at, "pending", None, 0, None, None,
                    f"visit:{visit_id}:invitation:{day.isoformat()}", None, None, registered,
                    registered,
                )
            )  # fmt: skip
        yield chunk


async def generate_due_reminders(dsn: str, count: int, due_at: datetime) -> dict[str, Any]:
    """Fill an empty, migrated database with `count` due SMS reminders (see `due_reminder_rows`)."""
    started = time.perf_counter()
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SET session_replication_role = replica")
        ids = Counters()
        for rows in due_reminder_rows(count, due_at, ids):
            await _copy(connection, rows)
        await _advance_sequences(connection, ids)
        await connection.execute("SET session_replication_role = origin")
        await connection.execute("VACUUM (ANALYZE)")
    finally:
        await connection.close()
    return {"reminders": count, "seconds": round(time.perf_counter() - started, 1)}
