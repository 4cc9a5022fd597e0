"""The scheduler's claims: one row a job and slot, so that two schedulers never run a slot twice."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cases.kit.columns import ID, UtcDateTime, utcnow


class JobRun(SQLModel, table=True):
    """One periodic job in one time slot: the unique pair keeps two schedulers from doubling work,
    and the row is the outbox of the job's message until it is enqueued."""

    __tablename__ = "job_run"
    __table_args__ = (sa.UniqueConstraint("job", "slot"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    job: str = Field(max_length=64)
    slot: int = Field(sa_type=sa.BigInteger)
    claimed_by: str = Field(max_length=100)
    claimed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # Set once its message is on the broker: a claim without it is retried by the next tick.
    enqueued_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
