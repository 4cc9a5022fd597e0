"""Who is acting: the caller of a request or a background job, as services and the audit log see it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Role(enum.StrEnum):
    REPRESENTATIVE = "representative"
    SUPERVISOR = "supervisor"
    TERRITORIAL_FUND = "territorial_fund"
    CLINIC_SYSTEM = "clinic_system"
    ADMIN = "admin"
    SYSTEM = "system"
    # A request on a public path (GraphiQL's page): permitted nothing, scoped to nothing.
    ANONYMOUS = "anonymous"


class ClinicScope(enum.StrEnum):
    """What a clinic system's API key allows besides seeing its own patients' existence."""

    PATIENTS_READ = "patients:read"
    CASES_WRITE = "cases:write"
    VISITS_WRITE = "visits:write"


@dataclass(frozen=True)
class Actor:
    role: Role
    # How the audit log names the actor, e.g. "representative:12"; never a personal name.
    label: str
    representative_id: int | None = None
    # Representatives (1..3); None for everyone else.
    level: int | None = None
    insurer_id: int | None = None
    clinic_id: int | None = None
    scopes: frozenset[ClinicScope] = field(default_factory=frozenset)
    request_id: str | None = None

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(role=Role.SYSTEM, label=f"job:{job}")

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(role=Role.ANONYMOUS, label="anonymous")
