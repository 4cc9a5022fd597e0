"""The rows of Order 168н's annexes (and a region's own rows): which codes each covers for which
supervising specialty, and the plan a case gets from them.

A rule is keyed by ICD-10 code *and* supervising specialty: I10–I15 is once a year with the
therapist (annex 1, row 1) and twice with the cardiologist (annex 2, row 2). Ranges and
three-character codes cover their subcodes (`I10-I15` covers `I11.9`, `K50` covers `K50.1`).
Where two rows for one specialty cover a code, the stricter applies and the plan says which.
"""

from __future__ import annotations

import csv
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Final

from cases.supervision.schedule import Duration, Schedule, parse_duration, parse_schedule

ORDER_ANNEXES_PATH: Final = Path(__file__).parent / "data" / "order-168n-annexes.csv"

# The supervising specialties the annexes name; annex 1 is the therapist's (участковый
# терапевт, ВОП, фельдшер with delegated duties).
SPECIALTIES: Final = (
    "therapist",
    "cardiologist",
    "infectious_disease",
    "endocrinologist",
    "neurologist",
    "surgeon",
    "urologist",
    "orthopedist",
    "ophthalmologist",
    "otolaryngologist",
    "dentist",
    "dermatologist",
    "gynecologist",
    "oncologist",
)
DEFAULT_SPECIALTY: Final = "therapist"

ANNEX_COLUMNS: Final = (
    "annex",
    "row",
    "specialty",
    "icd10",
    "condition",
    "schedule",
    "duration",
    "remark",
)
_CODE: Final = re.compile(r"[A-Z][0-9]{2}(\.[0-9]{1,2})?")
MAX_CONDITION: Final = 200
MAX_REMARK: Final = 300


def parse_codes(text: str) -> tuple[tuple[str, str], ...]:
    """`I20-I25;Z95.1` as ranges (first, last); a single code is a range of itself."""
    ranges: list[tuple[str, str]] = []
    for part in text.replace(" ", "").upper().split(";"):
        first, dash, last = part.partition("-")
        last = last if dash else first
        if not (_CODE.fullmatch(first) and _CODE.fullmatch(last)) or last < first:
            raise ValueError(f"{part!r} is not an ICD-10 code or an ordered range of codes")
        ranges.append((first, last))
    return tuple(ranges)


def covers(ranges: Sequence[tuple[str, str]], code: str) -> bool:
    """Whether `code` lies in one of the ranges, at each end's own precision (so `I10-I15`
    covers `I15.9`, and `I69.0-I69.4` covers `I69.35` but not the bare `I69`)."""
    return any(first <= code[: len(first)] and code[: len(last)] <= last for first, last in ranges)


@dataclass(frozen=True)
class RuleRow:
    """One row of the rules table: the order's (annex and row) or a region's own (no annex)."""

    specialty: str
    icd10: str
    condition: str
    schedule: Schedule
    duration: Duration
    remark: str = ""
    annex: int | None = None
    row: int | None = None
    source: str = ""

    @cached_property
    def ranges(self) -> tuple[tuple[str, str], ...]:
        # Read once per row: matching a code asks it of every row.
        return parse_codes(self.icd10)

    @property
    def cited(self) -> str:
        """Where the row comes from, as a person cites it."""
        if self.annex is not None:
            return f"Order 168н, annex {self.annex}, row {self.row}"
        return self.source


class PlanSource(enum.StrEnum):
    """What set a case's schedule."""

    RULE = "rule"
    CLINIC = "clinic"
    REGION_DEFAULT = "region_default"


@dataclass(frozen=True)
class Plan:
    """A case's schedule and duration, what set them and, in words, why."""

    schedule: Schedule
    source: PlanSource
    rule: RuleRow | None
    specialty: str
    below_minimum: bool
    explanation: str


def _stricter(rows: Sequence[RuleRow]) -> RuleRow:
    """The row asking for the most visits soonest; between equals, the order's first row."""
    return max(rows, key=lambda r: (r.schedule.intensity(), -(r.annex or 99), -(r.row or 0)))


def match_rule(
    code: str, specialty: str | None, rows: Sequence[RuleRow]
) -> tuple[RuleRow | None, str, str]:
    """(the row, the specialty it was found for, why) for a diagnosis and a supervising
    specialty. With no specialty given, the therapist's row; failing that, the strictest row
    of any specialty that covers the code (and its specialty becomes the case's)."""
    covering = [row for row in rows if covers(row.ranges, code)]
    wanted = specialty or DEFAULT_SPECIALTY
    found = [row for row in covering if row.specialty == wanted]
    if not found and specialty is None and covering:
        found = covering
    if not found:
        return None, wanted, f"no row covers {code} for the {wanted}"
    rule = _stricter(found)
    others = [row.cited for row in found if row is not rule]
    why = f"{rule.cited} covers {code}"
    if others:
        why += f"; the stricter of it and {', '.join(others)}"
    return rule, rule.specialty, why


def resolve_plan(
    code: str,
    specialty: str | None,
    rows: Sequence[RuleRow],
    *,
    clinic_plan: Schedule | None,
    region_default: Schedule,
) -> Plan:
    """The plan of a case: the clinic's own plan when it sends one (flagged when below the
    order's minimum), else the rule's schedule, else (no row, or a `clinical` row) the region's
    default, and the plan says which."""
    rule, specialty_found, why = match_rule(code, specialty, rows)
    minimum = rule.schedule if rule is not None and not rule.schedule.clinical else None
    if clinic_plan is not None:
        below = minimum is not None and clinic_plan.intensity()[0] < minimum.intensity()[0]
        note = f"the clinic's plan; {why}" + (", whose minimum is higher" if below else "")
        return Plan(clinic_plan, PlanSource.CLINIC, rule, specialty_found, below, note)
    if minimum is not None:
        return Plan(minimum, PlanSource.RULE, rule, specialty_found, False, why)
    if rule is not None:
        why += (
            ", which sets no number: the region's default applies until the clinic sends its plan"
        )
    else:
        why += ": the region's default applies"
    return Plan(region_default, PlanSource.REGION_DEFAULT, rule, specialty_found, False, why)


def parse_rule_row(row: dict[str, str | None], where: str, source: str = "") -> RuleRow:
    """A row of the annexes' CSV; raises ValueError naming `where` and what is wrong."""
    if None in row:
        raise ValueError(f"{where}: more fields than the {len(ANNEX_COLUMNS)} columns")
    values = {column: (row.get(column) or "").strip() for column in ANNEX_COLUMNS}
    try:
        annex = int(values["annex"]) if values["annex"] else None
        number = int(values["row"]) if values["row"] else None
        if values["specialty"] not in SPECIALTIES:
            raise ValueError(
                f"specialty {values['specialty']!r} is not one of {', '.join(SPECIALTIES)}"
            )
        parse_codes(values["icd10"])
        if not values["condition"] or len(values["condition"]) > MAX_CONDITION:
            raise ValueError(f"condition must be 1..{MAX_CONDITION} characters")
        if len(values["remark"]) > MAX_REMARK:
            raise ValueError(f"remark must be at most {MAX_REMARK} characters")
        return RuleRow(
            annex=annex,
            row=number,
            specialty=values["specialty"],
            icd10=values["icd10"].replace(" ", "").upper(),
            condition=values["condition"],
            schedule=parse_schedule(values["schedule"]),
            duration=parse_duration(values["duration"]),
            remark=values["remark"],
            source=source,
        )
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def load_order_rows(path: Path | None = None) -> list[RuleRow]:
    """The order's annexes as rule rows (by default the CSV shipped beside this module)."""
    path = path or ORDER_ANNEXES_PATH
    rows: list[RuleRow] = []
    seen: dict[tuple[int | None, int | None], int] = {}
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        if tuple(reader.fieldnames or ()) != ANNEX_COLUMNS:
            raise ValueError(f"{path.name} line 1: header must be {','.join(ANNEX_COLUMNS)}")
        for record in reader:
            where = f"{path.name} line {reader.line_num}"
            rule = parse_rule_row(record, where)
            if rule.annex is None or rule.row is None:
                raise ValueError(f"{where}: an order's row names its annex and row")
            key = (rule.annex, rule.row)
            if key in seen:
                raise ValueError(
                    f"{where}: annex {rule.annex}, row {rule.row} repeats line {seen[key]}"
                )
            seen[key] = reader.line_num
            rows.append(rule)
    return rows
