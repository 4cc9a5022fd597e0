"""Supervision cases, visits and the supervision rules table."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from cases.kit.columns import ID, UtcDateTime, enum_column, utcnow, versioned


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
        return versioned(cls)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    patient_id: int = Field(foreign_key="patient.id", index=True, sa_type=ID)
    icd10: str = Field(max_length=8, index=True)
    clinic_id: int = Field(foreign_key="medical_organization.id", sa_type=ID)
    physician_name: str | None = Field(default=None, max_length=200)
    opened_on: date
    visits_per_year: int
    plan_below_minimum: bool = False
    # The supervising specialty, the schedule in force and what set it (`PlanSource`), and the
    # row of the rules table it came from, if any.
    specialty: str = Field(
        default="therapist", max_length=40, sa_column_kwargs={"server_default": "therapist"}
    )
    schedule: str = Field(
        default="per_year:1", max_length=100, sa_column_kwargs={"server_default": "per_year:1"}
    )
    plan_source: str = Field(
        default="rule", max_length=20, sa_column_kwargs={"server_default": "rule"}
    )
    rule_id: int | None = Field(default=None, foreign_key="supervision_rule.id", sa_type=ID)
    # The date of diagnosis or of the hospital's discharge summary, whether supervision began
    # more than 3 working days after it (168н п. 4), and when a fixed duration runs out.
    diagnosed_on: date | None = None
    opened_late: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    review_on: date | None = None
    representative_id: int | None = Field(default=None, foreign_key="representative.id", sa_type=ID)
    status: CaseStatus = Field(
        default=CaseStatus.ACTIVE, sa_type=enum_column(CaseStatus, "case_status")
    )
    closed_on: date | None = None
    close_reason: CloseReason | None = Field(
        default=None, sa_type=enum_column(CloseReason, "close_reason")
    )
    source: CaseSource = Field(
        default=CaseSource.MANUAL, sa_type=enum_column(CaseSource, "case_source")
    )
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
        default=VisitStatus.PLANNED, sa_type=enum_column(VisitStatus, "visit_status")
    )
    attended_on: date | None = None
    missed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    external_id: str | None = Field(default=None, max_length=64)
    reason_code: str | None = Field(default=None, max_length=32)
    changed_by: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class SupervisionRule(SQLModel, table=True):
    """A row of the rules table: one of Order 168н's (its annex and row) or a region's own (no
    annex, its own source). Which codes it covers for which supervising specialty, the schedule
    and duration of supervision (`cases.supervision.schedule` reads them), and why."""

    __tablename__ = "supervision_rule"
    __table_args__ = (sa.UniqueConstraint("annex", "row"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    annex: int | None = None
    row: int | None = None
    specialty: str = Field(max_length=40)
    icd10: str = Field(max_length=300)
    condition: str = Field(max_length=200)
    schedule: str = Field(max_length=100)
    duration: str = Field(max_length=100)
    remark: str = Field(default="", max_length=300)
    source: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
