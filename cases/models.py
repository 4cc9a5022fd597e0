"""Tables of the supervision domain: who is supervised, where, by whom, and what must happen next."""

import enum
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

# Stable constraint names let Alembic alter tables on SQLite (batch mode) and PostgreSQL alike.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """An aware UTC instant on every backend (SQLite keeps no offset, so it is normalised here)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware instant is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _versioned(model: Any) -> dict[str, Any]:
    """Mapper arguments that make every UPDATE check and bump `version` (optimistic concurrency)."""
    return {"version_id_col": model.__table__.c.version}


def _enum(enum_type: type[enum.Enum], name: str) -> sa.Enum:
    """A string column limited by a CHECK constraint: portable, and new values need no type DDL."""
    return sa.Enum(
        enum_type,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Sex(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"


class Channel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"
    VOICE_CALL = "voice_call"
    POST = "post"


class CaseStatus(enum.StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class CloseReason(enum.StrEnum):
    RECOVERED = "recovered"
    DECEASED = "deceased"
    MOVED_AWAY = "moved_away"
    TRANSFERRED = "transferred"
    REFUSED = "refused"
    REMOVED_BY_PHYSICIAN = "removed_by_physician"


class CaseSource(enum.StrEnum):
    CLINIC = "clinic"
    MANUAL = "manual"


class VisitStatus(enum.StrEnum):
    PLANNED = "planned"
    ATTENDED = "attended"
    MISSED = "missed"
    CANCELLED = "cancelled"


class ReminderKind(enum.StrEnum):
    INVITATION = "invitation"
    APPOINTMENT_3_DAYS = "appointment_3_days"
    APPOINTMENT_1_DAY = "appointment_1_day"
    REBOOKING = "rebooking"
    CALL_TASK = "call_task"


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    # Transient failures outlasted the retry budget; an operator may retry it.
    DEAD = "dead"


class SkipReason(enum.StrEnum):
    NO_CONSENT = "no_consent"
    NO_CONTACT = "no_contact"
    NOT_NEEDED = "not_needed"


class DeliveryError(enum.StrEnum):
    """Why a channel did not take a message; the permanent ones move it to the next rung."""

    INVALID_RECIPIENT = "invalid_recipient"
    HARD_BOUNCE = "hard_bounce"
    REJECTED = "rejected"
    UNDELIVERED = "undelivered"
    NOT_CONFIGURED = "not_configured"
    UNAVAILABLE = "unavailable"


class InformingMethod(enum.StrEnum):
    """How a patient was informed, as the federal informing exchange names it."""

    SMS = "sms"
    EMAIL = "email"
    PHONE_CALL = "phone_call"
    LETTER = "letter"
    IN_PERSON = "in_person"


class InformingOutcome(enum.StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    REACHED = "reached"
    NOT_REACHED = "not_reached"


class WorkItemKind(enum.StrEnum):
    MISSED_VISIT = "missed_visit"
    UNREACHABLE_CONTACT = "unreachable_contact"
    FAILED_DELIVERY = "failed_delivery"
    CALL_DUE = "call_due"
    APPEAL_DEADLINE = "appeal_deadline"
    ESCALATION = "escalation"


class WorkItemStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class ContactMethod(enum.StrEnum):
    CALL = "call"
    LETTER = "letter"
    IN_PERSON = "in_person"


class ContactOutcome(enum.StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    WRONG_NUMBER = "wrong_number"
    REFUSED = "refused"
    WILL_ATTEND = "will_attend"


class AppealChannel(enum.StrEnum):
    LETTER = "letter"
    EMAIL = "email"
    PORTAL = "portal"
    PHONE = "phone"
    IN_PERSON = "in_person"


class AppealKind(enum.StrEnum):
    """The kinds of 59-ФЗ (complaint, statement, proposal) and a request for advice."""

    COMPLAINT = "complaint"
    STATEMENT = "statement"
    PROPOSAL = "proposal"
    CONSULTATION = "consultation"


class AppealSubject(enum.StrEnum):
    """What an appeal is about: the service's own code list (not a federal classifier)."""

    ACCESS_TO_CARE = "access_to_care"
    QUALITY_OF_CARE = "quality_of_care"
    SUPERVISION_SCHEDULE = "supervision_schedule"
    PAID_SERVICES = "paid_services"
    DRUG_PROVISION = "drug_provision"
    ETHICS = "ethics"
    POLICY = "policy"
    INSURER_WORK = "insurer_work"
    OTHER = "other"


class AppealStatus(enum.StrEnum):
    REGISTERED = "registered"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    CLOSED = "closed"


class AppealOutcome(enum.StrEnum):
    UPHELD = "upheld"
    PARTLY_UPHELD = "partly_upheld"
    REJECTED = "rejected"
    EXPLAINED = "explained"


class ExaminationKind(enum.StrEnum):
    TARGETED = "targeted"
    SCHEDULED = "scheduled"


class ExaminationReason(enum.StrEnum):
    """Why a targeted examination is ordered."""

    COMPLAINT = "complaint"
    REPEATED_MISSED_VISITS = "repeated_missed_visits"
    DEATH = "death"
    OTHER = "other"


class ExaminationStatus(enum.StrEnum):
    ORDERED = "ordered"
    COMPLETED = "completed"


class ExaminationOutcome(enum.StrEnum):
    NO_VIOLATIONS = "no_violations"
    VIOLATIONS_FOUND = "violations_found"


class Insurer(SQLModel, table=True):
    """A СМО: an insurance medical organization with its hotline."""

    __tablename__ = "insurer"

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    code: str = Field(max_length=16, unique=True)
    name: str = Field(max_length=200)
    hotline_phone: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class MedicalOrganization(SQLModel, table=True):
    """An МО: a clinic that supervises patients and reports their visits."""

    __tablename__ = "medical_organization"

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    code: str = Field(max_length=16, unique=True)
    name: str = Field(max_length=300)
    address: str | None = Field(default=None, max_length=500)
    time_zone: str = Field(default="Europe/Moscow", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Representative(SQLModel, table=True):
    """An insurance representative of level 1, 2 or 3, employed by one insurer."""

    __tablename__ = "representative"
    __table_args__ = (sa.CheckConstraint("level BETWEEN 1 AND 3", name="level_range"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    insurer_id: int = Field(foreign_key="insurer.id", index=True, sa_type=ID)
    level: int
    last_name: str = Field(max_length=100)
    first_name: str = Field(max_length=100)
    middle_name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=16)
    email: str | None = Field(default=None, max_length=254)
    active: bool = True
    # The subject of the caller's identity-provider token; links a login to this record.
    subject: str | None = Field(default=None, max_length=200, unique=True)
    is_supervisor: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DeskHours(SQLModel, table=True):
    """When a representative sits at a desk inside a clinic."""

    __tablename__ = "desk_hours"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint("starts_at < ends_at", name="hours_ordered"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    representative_id: int = Field(foreign_key="representative.id", index=True, sa_type=ID)
    clinic_id: int = Field(foreign_key="medical_organization.id", sa_type=ID)
    weekday: int
    starts_at: time
    ends_at: time


class Patient(SQLModel, table=True):
    """A застрахованное лицо, identified by ЕНП."""

    __tablename__ = "patient"
    __table_args__ = (
        sa.Index("ix_patient_insurer_search_name", "insurer_id", "search_name"),
        sa.Index("ix_patient_search_name", "search_name"),
    )

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return _versioned(cls)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    enp: str = Field(max_length=16, unique=True)
    snils: str | None = Field(default=None, max_length=11, unique=True)
    last_name: str = Field(max_length=100)
    first_name: str = Field(max_length=100)
    middle_name: str | None = Field(default=None, max_length=100)
    # Lower case, ё folded to е: the key of case-insensitive Cyrillic prefix search.
    search_name: str = Field(max_length=310)
    birth_date: date
    sex: Sex = Field(sa_type=_enum(Sex, "sex"))
    phone: str | None = Field(default=None, max_length=16, index=True)
    phone_extra: str | None = Field(default=None, max_length=16, index=True)
    email: str | None = Field(default=None, max_length=254)
    postal_address: str | None = Field(default=None, max_length=500)
    time_zone: str = Field(default="Europe/Moscow", max_length=64)
    insurer_id: int = Field(foreign_key="insurer.id", sa_type=ID)
    attached_clinic_id: int | None = Field(
        default=None, foreign_key="medical_organization.id", index=True, sa_type=ID
    )
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class NotificationConsent(SQLModel, table=True):
    """The current consent of one patient for one channel; its history is in the audit log."""

    __tablename__ = "notification_consent"
    __table_args__ = (sa.UniqueConstraint("patient_id", "channel"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    patient_id: int = Field(foreign_key="patient.id", sa_type=ID)
    channel: Channel = Field(sa_type=_enum(Channel, "channel"))
    granted: bool
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # How it was given or withdrawn: "written form", "sms STOP", "call", ...
    method: str = Field(max_length=100)


class SupervisionCase(SQLModel, table=True):
    """One patient under dispensary supervision for one diagnosis at one clinic."""

    __tablename__ = "supervision_case"
    __table_args__ = (
        sa.CheckConstraint("visits_per_year BETWEEN 1 AND 52", name="visits_per_year_range"),
        sa.CheckConstraint(
            "(status = 'closed') = (closed_on IS NOT NULL AND close_reason IS NOT NULL)",
            name="closed_fields",
        ),
        sa.Index("ix_supervision_case_representative_status", "representative_id", "status"),
        sa.Index("ix_supervision_case_clinic_status", "clinic_id", "status"),
    )

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return _versioned(cls)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    patient_id: int = Field(foreign_key="patient.id", index=True, sa_type=ID)
    icd10: str = Field(max_length=8, index=True)
    clinic_id: int = Field(foreign_key="medical_organization.id", sa_type=ID)
    physician_name: str | None = Field(default=None, max_length=200)
    opened_on: date
    visits_per_year: int
    plan_below_minimum: bool = False
    representative_id: int | None = Field(default=None, foreign_key="representative.id", sa_type=ID)
    status: CaseStatus = Field(default=CaseStatus.ACTIVE, sa_type=_enum(CaseStatus, "case_status"))
    closed_on: date | None = None
    close_reason: CloseReason | None = Field(
        default=None, sa_type=_enum(CloseReason, "close_reason")
    )
    source: CaseSource = Field(default=CaseSource.MANUAL, sa_type=_enum(CaseSource, "case_source"))
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Visit(SQLModel, table=True):
    """A follow-up visit, planned as a window and reported by the clinic as attended or not."""

    __tablename__ = "visit"
    __table_args__ = (
        sa.CheckConstraint("window_start <= window_end", name="window_ordered"),
        sa.CheckConstraint(
            "(status = 'attended') = (attended_on IS NOT NULL)", name="attended_date"
        ),
        sa.UniqueConstraint("clinic_id", "external_id"),
        sa.Index("ix_visit_case_window_start", "case_id", "window_start"),
        # The missed-visit scan reads only planned visits, ordered by window end.
        sa.Index(
            "ix_visit_planned_window_end",
            "window_end",
            postgresql_where=sa.text("status = 'planned'"),
            sqlite_where=sa.text("status = 'planned'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    case_id: int = Field(foreign_key="supervision_case.id", sa_type=ID)
    clinic_id: int = Field(foreign_key="medical_organization.id", sa_type=ID)
    window_start: date
    window_end: date
    appointment_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    status: VisitStatus = Field(
        default=VisitStatus.PLANNED, sa_type=_enum(VisitStatus, "visit_status")
    )
    attended_on: date | None = None
    missed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    external_id: str | None = Field(default=None, max_length=64)
    reason_code: str | None = Field(default=None, max_length=32)
    changed_by: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Reminder(SQLModel, table=True):
    """The outbox: one message to one patient on one channel, written with the change that needs it."""

    __tablename__ = "reminder"
    __table_args__ = (
        sa.CheckConstraint("attempts >= 0", name="attempts_positive"),
        sa.Index(
            "ix_reminder_pending_scheduled_for",
            "scheduled_for",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
        sa.Index(
            "ix_reminder_queued_queued_at",
            "queued_at",
            postgresql_where=sa.text("status = 'queued'"),
            sqlite_where=sa.text("status = 'queued'"),
        ),
        sa.Index("ix_reminder_status_scheduled_for", "status", "scheduled_for"),
        sa.Index("ix_reminder_patient_scheduled_for", "patient_id", "scheduled_for"),
        sa.Index("ix_reminder_visit_status", "visit_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    patient_id: int = Field(foreign_key="patient.id", sa_type=ID)
    case_id: int | None = Field(default=None, foreign_key="supervision_case.id", sa_type=ID)
    visit_id: int | None = Field(default=None, foreign_key="visit.id", sa_type=ID)
    campaign: str | None = Field(default=None, max_length=100)
    kind: ReminderKind = Field(sa_type=_enum(ReminderKind, "reminder_kind"))
    channel: Channel = Field(sa_type=_enum(Channel, "channel"))
    template: str = Field(max_length=64)
    scheduled_for: datetime = Field(sa_type=UtcDateTime)
    status: ReminderStatus = Field(
        default=ReminderStatus.PENDING, sa_type=_enum(ReminderStatus, "reminder_status")
    )
    skip_reason: SkipReason | None = Field(default=None, sa_type=_enum(SkipReason, "skip_reason"))
    attempts: int = 0
    error: DeliveryError | None = Field(
        default=None, sa_type=_enum(DeliveryError, "delivery_error")
    )
    # What the channel said, never personal data: a provider code or an exception type.
    last_error: str | None = Field(default=None, max_length=500)
    provider_message_id: str | None = Field(default=None, max_length=128, index=True)
    idempotency_key: str = Field(max_length=128, unique=True)
    # The rung this one replaces after a permanent failure there.
    previous_id: int | None = Field(default=None, foreign_key="reminder.id", sa_type=ID)
    # What went out and to where, as sent (the phone, e-mail or postal address).
    recipient: str | None = Field(default=None, max_length=500)
    body: str | None = Field(default=None, sa_type=sa.Text)
    queued_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class WorkItem(SQLModel, table=True):
    """Something a representative must act on, ordered on their worklist by priority and due time."""

    __tablename__ = "work_item"
    __table_args__ = (
        sa.CheckConstraint("priority BETWEEN 1 AND 5", name="priority_range"),
        sa.Index("ix_work_item_worklist", "owner_id", "status", "priority", "due_at", "id"),
        # A worklist's open items in its order: a page is read from it and cut, where the index
        # above gives every open item of the owner to be sorted first (each then checked
        # against the caller's scope: hundreds of rows for a page of 50).
        sa.Index(
            "ix_work_item_open_worklist",
            "owner_id",
            "priority",
            "due_at",
            "id",
            postgresql_where=sa.text("status IN ('open', 'in_progress')"),
            sqlite_where=sa.text("status IN ('open', 'in_progress')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    kind: WorkItemKind = Field(sa_type=_enum(WorkItemKind, "work_item_kind"))
    owner_id: int | None = Field(default=None, foreign_key="representative.id", sa_type=ID)
    # None only for an appeal of a person not identified as a patient.
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True, sa_type=ID)
    case_id: int | None = Field(default=None, foreign_key="supervision_case.id", sa_type=ID)
    visit_id: int | None = Field(default=None, foreign_key="visit.id", sa_type=ID)
    reminder_id: int | None = Field(default=None, foreign_key="reminder.id", sa_type=ID)
    appeal_id: int | None = Field(default=None, foreign_key="appeal.id", index=True, sa_type=ID)
    # 1 is the most urgent.
    priority: int = 3
    due_at: datetime = Field(sa_type=UtcDateTime)
    status: WorkItemStatus = Field(
        default=WorkItemStatus.OPEN, sa_type=_enum(WorkItemStatus, "work_item_status")
    )
    resolution: str | None = Field(default=None, max_length=1000)
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Makes raising the same item twice (a retried job) a no-op.
    dedup_key: str | None = Field(default=None, max_length=128, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Appeal(SQLModel, table=True):
    """A written or oral appeal (обращение) of an insured person, with its 59-ФЗ deadlines."""

    __tablename__ = "appeal"
    __table_args__ = (
        sa.CheckConstraint(
            "kind <> 'complaint' OR clinic_id IS NOT NULL", name="complaint_names_clinic"
        ),
        sa.CheckConstraint(
            "extension_days IS NULL OR extension_days BETWEEN 1 AND 30", name="extension_range"
        ),
        sa.CheckConstraint(
            "(status IN ('answered', 'closed')) = (answered_at IS NOT NULL)", name="answered_fields"
        ),
        # The deadline scan and the `deadline` filter read open appeals by answer due date.
        sa.Index("ix_appeal_status_answer_due", "status", "answer_due"),
        sa.Index("ix_appeal_insurer_received_at", "insurer_id", "received_at"),
        sa.Index("ix_appeal_clinic_received_at", "clinic_id", "received_at"),
        sa.Index("ix_appeal_representative_status", "representative_id", "status"),
    )

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return _versioned(cls)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    insurer_id: int = Field(foreign_key="insurer.id", sa_type=ID)
    received_at: datetime = Field(sa_type=UtcDateTime)
    registered_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    channel: AppealChannel = Field(sa_type=_enum(AppealChannel, "appeal_channel"))
    kind: AppealKind = Field(sa_type=_enum(AppealKind, "appeal_kind"))
    subject: AppealSubject = Field(sa_type=_enum(AppealSubject, "appeal_subject"))
    text: str = Field(max_length=10000)
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True, sa_type=ID)
    clinic_id: int | None = Field(default=None, foreign_key="medical_organization.id", sa_type=ID)
    case_id: int | None = Field(
        default=None, foreign_key="supervision_case.id", index=True, sa_type=ID
    )
    representative_id: int | None = Field(default=None, foreign_key="representative.id", sa_type=ID)
    status: AppealStatus = Field(
        default=AppealStatus.REGISTERED, sa_type=_enum(AppealStatus, "appeal_status")
    )
    # Local calendar dates of the insurer's zone; weekends and holidays count as any day.
    registration_due: date
    answer_due: date
    extension_days: int | None = None
    extension_notice: str | None = Field(default=None, max_length=500)
    extended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    answer_text: str | None = Field(default=None, max_length=10000)
    outcome: AppealOutcome | None = Field(
        default=None, sa_type=_enum(AppealOutcome, "appeal_outcome")
    )
    answered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    answered_on_time: bool | None = None
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class QualityExamination(SQLModel, table=True):
    """An ЭКМП: an expert's examination of the care a clinic gave over a period."""

    __tablename__ = "quality_examination"
    __table_args__ = (
        sa.CheckConstraint("period_start <= period_end", name="period_ordered"),
        sa.CheckConstraint(
            "(kind = 'targeted') = (reason IS NOT NULL)", name="targeted_has_reason"
        ),
        sa.CheckConstraint(
            "(status = 'completed') = (outcome IS NOT NULL AND completed_at IS NOT NULL)",
            name="completed_fields",
        ),
        sa.Index("ix_quality_examination_insurer_ordered_at", "insurer_id", "ordered_at"),
        sa.Index("ix_quality_examination_clinic_status", "clinic_id", "status"),
    )

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return _versioned(cls)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    insurer_id: int = Field(foreign_key="insurer.id", sa_type=ID)
    kind: ExaminationKind = Field(sa_type=_enum(ExaminationKind, "examination_kind"))
    reason: ExaminationReason | None = Field(
        default=None, sa_type=_enum(ExaminationReason, "examination_reason")
    )
    clinic_id: int = Field(foreign_key="medical_organization.id", sa_type=ID)
    appeal_id: int | None = Field(default=None, foreign_key="appeal.id", index=True, sa_type=ID)
    period_start: date
    period_end: date
    expert_name: str = Field(max_length=200)
    due_on: date
    ordered_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    ordered_by: str = Field(max_length=100)
    status: ExaminationStatus = Field(
        default=ExaminationStatus.ORDERED, sa_type=_enum(ExaminationStatus, "examination_status")
    )
    violation_codes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    findings: str | None = Field(default=None, max_length=10000)
    outcome: ExaminationOutcome | None = Field(
        default=None, sa_type=_enum(ExaminationOutcome, "examination_outcome")
    )
    completed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ExaminedCase(SQLModel, table=True):
    """A case (and, when named, one of its visits) that an examination looks at."""

    __tablename__ = "examined_case"
    __table_args__ = (
        sa.UniqueConstraint("examination_id", "case_id", "visit_id"),
        sa.Index("ix_examined_case_case_examination", "case_id", "examination_id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    examination_id: int = Field(foreign_key="quality_examination.id", sa_type=ID)
    case_id: int = Field(foreign_key="supervision_case.id", sa_type=ID)
    visit_id: int | None = Field(default=None, foreign_key="visit.id", sa_type=ID)


class ContactAttempt(SQLModel, table=True):
    """A representative's call or letter to a patient, and how it went."""

    __tablename__ = "contact_attempt"
    __table_args__ = (
        sa.Index("ix_contact_attempt_patient_attempted_at", "patient_id", "attempted_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    patient_id: int = Field(foreign_key="patient.id", sa_type=ID)
    case_id: int | None = Field(default=None, foreign_key="supervision_case.id", sa_type=ID)
    work_item_id: int | None = Field(
        default=None, foreign_key="work_item.id", index=True, sa_type=ID
    )
    representative_id: int = Field(foreign_key="representative.id", sa_type=ID)
    method: ContactMethod = Field(sa_type=_enum(ContactMethod, "contact_method"))
    outcome: ContactOutcome = Field(sa_type=_enum(ContactOutcome, "contact_outcome"))
    note: str | None = Field(default=None, max_length=2000)
    attempted_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class InformingEvent(SQLModel, table=True):
    """One attempt to inform a patient (type, method, date), as the federal exchange records it."""

    __tablename__ = "informing_event"
    __table_args__ = (
        sa.Index("ix_informing_event_patient_occurred_at", "patient_id", "occurred_at"),
        sa.Index("ix_informing_event_case_occurred_at", "case_id", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    patient_id: int = Field(foreign_key="patient.id", sa_type=ID)
    case_id: int | None = Field(default=None, foreign_key="supervision_case.id", sa_type=ID)
    reminder_id: int | None = Field(default=None, foreign_key="reminder.id", index=True, sa_type=ID)
    contact_attempt_id: int | None = Field(
        default=None, foreign_key="contact_attempt.id", sa_type=ID
    )
    # The reminder kind (invitation, appointment_1_day, ...) or "contact" for a representative's.
    kind: str = Field(max_length=32)
    method: InformingMethod = Field(sa_type=_enum(InformingMethod, "informing_method"))
    outcome: InformingOutcome = Field(sa_type=_enum(InformingOutcome, "informing_outcome"))
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class AuditEvent(SQLModel, table=True):
    """Who did what to which record, with the fields it changed; never updated."""

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_entity", "entity_type", "entity_id", "occurred_at"),
        sa.Index("ix_audit_event_insurer_occurred_at", "insurer_id", "occurred_at"),
        sa.Index("ix_audit_event_patient_occurred_at", "patient_id", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=64)
    entity_id: int = Field(sa_type=ID)
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    request_id: str | None = Field(default=None, max_length=64)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    # The patient the event concerns and that patient's insurer (or the acting representative's):
    # whose supervisor may read it. No foreign keys: the trail outlives what it describes.
    patient_id: int | None = Field(default=None, sa_type=ID)
    insurer_id: int | None = Field(default=None, sa_type=ID)


class ApiClient(SQLModel, table=True):
    """A clinic information system that calls the API with a key (stored hashed)."""

    __tablename__ = "api_client"

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    clinic_id: int = Field(foreign_key="medical_organization.id", index=True, sa_type=ID)
    name: str = Field(max_length=200)
    key_prefix: str = Field(max_length=16, unique=True)
    key_hash: str = Field(max_length=128)
    scopes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class SupervisionRule(SQLModel, table=True):
    """Minimum visits per year by ICD-10 prefix, with where the row came from."""

    __tablename__ = "supervision_rule"

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    icd10_prefix: str = Field(max_length=8, unique=True)
    min_visits_per_year: int
    specialty: str = Field(max_length=100)
    source: str = Field(max_length=300)
    verified: bool = False


class JobRun(SQLModel, table=True):
    """One periodic job in one time slot: the unique pair keeps two schedulers from doubling work."""

    __tablename__ = "job_run"
    __table_args__ = (sa.UniqueConstraint("job", "slot"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    job: str = Field(max_length=64)
    slot: int = Field(sa_type=sa.BigInteger)
    claimed_by: str = Field(max_length=100)
    claimed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
