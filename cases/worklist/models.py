"""Work items and representatives' contact attempts."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cases.kit.columns import ID, UtcDateTime, enum_column, utcnow


class WorkItemKind(enum.StrEnum):
    MISSED_VISIT = "missed_visit"
    UNREACHABLE_CONTACT = "unreachable_contact"
    FAILED_DELIVERY = "failed_delivery"
    CALL_DUE = "call_due"
    APPEAL_DEADLINE = "appeal_deadline"
    ESCALATION = "escalation"
    # The fixed duration of a case's supervision has run out: keep it on, or close it.
    SUPERVISION_REVIEW = "supervision_review"


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
    kind: WorkItemKind = Field(sa_type=enum_column(WorkItemKind, "work_item_kind"))
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
        default=WorkItemStatus.OPEN, sa_type=enum_column(WorkItemStatus, "work_item_status")
    )
    resolution: str | None = Field(default=None, max_length=1000)
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Makes raising the same item twice (a retried job) a no-op.
    dedup_key: str | None = Field(default=None, max_length=128, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


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
    method: ContactMethod = Field(sa_type=enum_column(ContactMethod, "contact_method"))
    outcome: ContactOutcome = Field(sa_type=enum_column(ContactOutcome, "contact_outcome"))
    note: str | None = Field(default=None, max_length=2000)
    attempted_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
