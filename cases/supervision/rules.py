"""The rules table in the database: Order 168н's rows, loaded from the annexes' CSV, and a
region's own rows, added by an administrator and audited. The order's rows are never edited;
a region that needs another plan for a code adds its own row, and the stricter row applies
(`cases.supervision.annexes.match_rule`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cases.audit.service import AuditLog, changes_between, snapshot
from cases.kit.actor import Actor
from cases.kit.checks import validated
from cases.kit.errors import ValidationFailed
from cases.kit.validation import normalize_icd10
from cases.supervision.annexes import (
    ANNEX_COLUMNS,
    MAX_CONDITION,
    MAX_REMARK,
    SPECIALTIES,
    Plan,
    RuleRow,
    covers,
    load_order_rows,
    parse_codes,
    parse_rule_row,
    resolve_plan,
)
from cases.supervision.models import SupervisionRule
from cases.supervision.repository import SupervisionRuleRepository
from cases.supervision.schedule import (
    MAX_VISITS_PER_YEAR,
    Schedule,
    parse_duration,
    parse_schedule,
)

RULE_FIELDS = [*ANNEX_COLUMNS, "source"]
_MAX_SOURCE = 300


def _values(rule: RuleRow) -> dict[str, Any]:
    return {
        "annex": rule.annex,
        "row": rule.row,
        "specialty": rule.specialty,
        "icd10": rule.icd10,
        "condition": rule.condition,
        "schedule": str(rule.schedule),
        "duration": str(rule.duration),
        "remark": rule.remark,
        "source": rule.source or rule.cited,
    }


def rule_row(stored: SupervisionRule) -> RuleRow:
    """A stored row as the domain reads it (its schedule and duration parsed)."""
    return _read_row(
        stored.annex,
        stored.row,
        stored.specialty,
        stored.icd10,
        stored.condition,
        stored.schedule,
        stored.duration,
        stored.remark,
        stored.source,
    )


@lru_cache(maxsize=1024)
def _read_row(
    annex: int | None,
    row: int | None,
    specialty: str,
    icd10: str,
    condition: str,
    schedule: str,
    duration: str,
    remark: str,
    source: str,
) -> RuleRow:
    """Rows are read on every plan and seldom change: each distinct row is parsed once."""
    return parse_rule_row(
        {
            "annex": "" if annex is None else str(annex),
            "row": "" if row is None else str(row),
            "specialty": specialty,
            "icd10": icd10,
            "condition": condition,
            "schedule": schedule,
            "duration": duration,
            "remark": remark,
        },
        f"supervision_rule (annex {annex}, row {row})",
        source=source,
    )


@dataclass(frozen=True)
class RulesTable:
    """The table's rows as the domain reads them, each with its id: read once, asked often (a
    case's plan, a demo region's thousands)."""

    rows: tuple[tuple[int, RuleRow], ...]

    @classmethod
    def of(cls, stored: Sequence[SupervisionRule]) -> RulesTable:
        return cls(tuple((row.id, rule_row(row)) for row in stored if row.id is not None))

    def plan(
        self, code: str, specialty: str | None, clinic_plan: int | None, default_per_year: int
    ) -> tuple[Plan, int | None]:
        """The plan of a case of `code` under `specialty` (None: the therapist's, or the row's
        that covers the code), with the clinic's own visits a year if it sent them; and the id
        of the row it came from."""
        if specialty is not None and specialty not in SPECIALTIES:
            raise ValidationFailed(f"must be one of {', '.join(SPECIALTIES)}", field="specialty")
        plan = resolve_plan(
            code,
            specialty,
            [row for _, row in self.rows],
            clinic_plan=None if clinic_plan is None else Schedule.per_year(clinic_plan),
            region_default=Schedule.per_year(default_per_year),
        )
        # Rows of equal content read as one: the first such row's id stands for them.
        return plan, next((id_ for id_, row in self.rows if row is plan.rule), None)


def plan_columns(plan: Plan, rule_id: int | None, opened_on: date, today: date) -> dict[str, Any]:
    """What a case records of its plan: the schedule, what set it, the row, the specialty, the
    visits a year of the phase in force today, and when a fixed duration runs out."""
    per_year = plan.schedule.frequency_on(opened_on, max(today, opened_on)).visits_per_year
    return {
        "visits_per_year": max(1, min(MAX_VISITS_PER_YEAR, round(per_year))),
        "schedule": str(plan.schedule),
        "plan_source": plan.source.value,
        "rule_id": rule_id,
        "specialty": plan.specialty,
        "plan_below_minimum": plan.below_minimum,
        "review_on": plan.rule.duration.review_on(opened_on) if plan.rule else None,
    }


class SupervisionRuleService:
    def __init__(self, session: AsyncSession) -> None:
        self.rules = SupervisionRuleRepository.from_session(session)
        self.audit = AuditLog(session)

    async def load_shipped(self) -> None:
        """Add the order's rows the table lacks (all 102 on a new database)."""
        await self.rules.add_missing([_values(rule) for rule in load_order_rows()])

    async def all(self) -> Sequence[SupervisionRule]:
        return await self.rules.all()

    async def table(self) -> RulesTable:
        return RulesTable.of(await self.rules.all())

    async def matching(
        self, icd10: str | None = None, specialty: str | None = None
    ) -> list[SupervisionRule]:
        """The rows that cover a code (any specialty's, or one's), in the table's order."""
        code = validated(lambda: normalize_icd10(icd10, "icd10")) if icd10 else None
        return [
            stored
            for stored in await self.rules.all()
            if (code is None or covers(rule_row(stored).ranges, code))
            and (specialty is None or stored.specialty == specialty)
        ]

    async def add_regional(
        self,
        actor: Actor,
        *,
        specialty: str,
        icd10: str,
        condition: str,
        schedule: str,
        duration: str,
        remark: str,
        source: str,
    ) -> SupervisionRule:
        """A region's own row: it names its source (a regional order, a decision), and is kept
        beside the order's rows, which it never changes."""
        checks: list[tuple[str, Callable[[], object]]] = [
            ("specialty", lambda: _one_of(specialty.strip(), SPECIALTIES)),
            ("icd10", lambda: parse_codes(icd10)),
            ("condition", lambda: _text(condition, MAX_CONDITION, required=True)),
            ("schedule", lambda: parse_schedule(schedule.strip())),
            ("duration", lambda: parse_duration(duration.strip())),
            ("remark", lambda: _text(remark, MAX_REMARK, required=False)),
            ("source", lambda: _text(source, _MAX_SOURCE, required=True)),
        ]
        for field, check in checks:
            try:
                check()
            except ValueError as error:
                raise ValidationFailed(str(error), field=field) from None
        parsed = parse_rule_row(
            {
                "annex": "",
                "row": "",
                "specialty": specialty,
                "icd10": icd10,
                "condition": condition,
                "schedule": schedule,
                "duration": duration,
                "remark": remark,
            },
            "the row",
            source=source.strip(),
        )
        stored = SupervisionRule(**_values(parsed))
        await self.rules.add(stored)
        await self.audit.record(
            actor,
            "supervision_rule.add",
            stored,
            changes_between({}, snapshot(stored, RULE_FIELDS)),
        )
        return stored


def _one_of(value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")


def _text(value: str, most: int, *, required: bool) -> None:
    clean = value.strip()
    if (required and not clean) or len(clean) > most or not clean.isprintable():
        raise ValueError(f"must be {'1' if required else '0'}-{most} printable characters")
