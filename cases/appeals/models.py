"""Appeals, quality-of-care examinations and the cases they examine."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from cases.kit.columns import ID, UtcDateTime, enum_column, utcnow, versioned


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
        return versioned(cls)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    insurer_id: int = Field(foreign_key="insurer.id", sa_type=ID)
    received_at: datetime = Field(sa_type=UtcDateTime)
    registered_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    channel: AppealChannel = Field(sa_type=enum_column(AppealChannel, "appeal_channel"))
    kind: AppealKind = Field(sa_type=enum_column(AppealKind, "appeal_kind"))
    subject: AppealSubject = Field(sa_type=enum_column(AppealSubject, "appeal_subject"))
    text: str = Field(max_length=10000)
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True, sa_type=ID)
    clinic_id: int | None = Field(default=None, foreign_key="medical_organization.id", sa_type=ID)
    case_id: int | None = Field(
        default=None, foreign_key="supervision_case.id", index=True, sa_type=ID
    )
    representative_id: int | None = Field(default=None, foreign_key="representative.id", sa_type=ID)
    status: AppealStatus = Field(
        default=AppealStatus.REGISTERED, sa_type=enum_column(AppealStatus, "appeal_status")
    )
    # Local calendar dates of the insurer's zone; weekends and holidays count as any day.
    registration_due: date
    # Registered after its registration deadline (59-ФЗ: within 3 days of receipt).
    registered_late: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    answer_due: date
    extension_days: int | None = None
    extension_notice: str | None = Field(default=None, max_length=500)
    extended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    answer_text: str | None = Field(default=None, max_length=10000)
    outcome: AppealOutcome | None = Field(
        default=None, sa_type=enum_column(AppealOutcome, "appeal_outcome")
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
        return versioned(cls)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    insurer_id: int = Field(foreign_key="insurer.id", sa_type=ID)
    kind: ExaminationKind = Field(sa_type=enum_column(ExaminationKind, "examination_kind"))
    reason: ExaminationReason | None = Field(
        default=None, sa_type=enum_column(ExaminationReason, "examination_reason")
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
        default=ExaminationStatus.ORDERED,
        sa_type=enum_column(ExaminationStatus, "examination_status"),
    )
    violation_codes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    findings: str | None = Field(default=None, max_length=10000)
    outcome: ExaminationOutcome | None = Field(
        default=None, sa_type=enum_column(ExaminationOutcome, "examination_outcome")
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
