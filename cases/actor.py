"""Who is acting: the caller of a request or a background job, as services and the audit log see it."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    REPRESENTATIVE = "representative"
    SUPERVISOR = "supervisor"
    TERRITORIAL_FUND = "territorial_fund"
    CLINIC_SYSTEM = "clinic_system"
    ADMIN = "admin"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    role: Role
    # How the audit log names the actor, e.g. "representative:12"; never a personal name.
    label: str
    representative_id: int | None = None
    insurer_id: int | None = None
    clinic_id: int | None = None
    request_id: str | None = None

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(role=Role.SYSTEM, label=f"job:{job}")
