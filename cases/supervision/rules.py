"""The supervision rules table: the shipped CSV, matching a diagnosis, and its edits."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from cases.audit.service import AuditLog, changes_between, snapshot
from cases.kit.actor import Actor
from cases.kit.errors import ValidationFailed
from cases.supervision.models import (
    SupervisionRule,
)
from cases.supervision.repository import (
    SupervisionRuleRepository,
)
from cases.supervision.schedule import MAX_VISITS_PER_YEAR, check_visits_per_year


class SupervisionRuleService:
    """The rules table: shipped as data, loaded into the database, editable by an administrator."""

    def __init__(self, session: AsyncSession) -> None:
        self.rules = SupervisionRuleRepository.from_session(session)
        self.audit = AuditLog(session)

    async def load_shipped(self) -> None:
        await self.rules.add_missing(
            [
                {
                    "icd10_prefix": row.icd10_prefix,
                    "min_visits_per_year": row.min_visits_per_year,
                    "specialty": row.specialty,
                    "source": row.source,
                    "verified": row.verified,
                }
                for row in load_supervision_rules()
            ]
        )

    async def all(self) -> Sequence[SupervisionRule]:
        return await self.rules.all()

    async def upsert(
        self,
        actor: Actor,
        *,
        icd10_prefix: str,
        min_visits_per_year: int,
        specialty: str,
        source: str,
        verified: bool,
    ) -> SupervisionRule:
        prefix = icd10_prefix.strip().upper()
        if not RULE_PREFIX.fullmatch(prefix):
            raise ValidationFailed(
                "must be an ICD-10 code or its first characters, e.g. I10", field="icd10_prefix"
            )
        if not 1 <= min_visits_per_year <= 52:
            raise ValidationFailed("must be between 1 and 52", field="min_visits_per_year")
        if not specialty.strip():
            raise ValidationFailed("must not be empty", field="specialty")
        if verified and "168н" not in source:
            raise ValidationFailed(
                "only a row read from the text of Order 168н may be verified; cite it in source",
                field="verified",
            )
        rule = await self.rules.by_prefix(prefix)
        before = snapshot(rule, RULE_FIELDS) if rule else {}
        if rule is None:
            rule = SupervisionRule(
                icd10_prefix=prefix, min_visits_per_year=1, specialty="", source=""
            )
        rule.min_visits_per_year, rule.specialty = min_visits_per_year, specialty.strip()[:100]
        rule.source, rule.verified = source.strip()[:300], verified
        await self.rules.add(rule)
        await self.audit.record(
            actor,
            "supervision_rule.upsert",
            rule,
            changes_between(before, snapshot(rule, RULE_FIELDS)),
        )
        return rule


RULE_PREFIX = re.compile(r"[A-Z][0-9]{0,2}(\.[0-9]{1,2})?")


RULE_FIELDS = ["icd10_prefix", "min_visits_per_year", "specialty", "source", "verified"]


SUPERVISION_RULES_PATH: Final = Path(__file__).parent / "data" / "supervision_rules.csv"


_RULE_COLUMNS: Final = ("icd10_prefix", "min_visits_per_year", "specialty", "source", "verified")


_ICD10_PREFIX: Final = re.compile(r"^[A-Z][0-9]{2}(\.[0-9]{1,2})?$")


# Column sizes of the supervision_rule table, so a loaded row always fits.
_MAX_SPECIALTY: Final = 100


_MAX_SOURCE: Final = 300


@dataclass(frozen=True)
class SupervisionRuleRow:
    """A rules-table row: ICD-10 prefix, minimum visits per year and supervising specialty."""

    icd10_prefix: str
    min_visits_per_year: int
    specialty: str
    source: str
    # True only for rows read from the official text of Order 168н.
    verified: bool


def match_rule(icd10: str, rules: Sequence[SupervisionRuleRow]) -> SupervisionRuleRow | None:
    """The rule with the longest ICD-10 prefix that `icd10` starts with, or None."""
    code = icd10.strip().upper()
    best: SupervisionRuleRow | None = None
    for rule in rules:
        if code.startswith(rule.icd10_prefix) and (
            best is None or len(rule.icd10_prefix) > len(best.icd10_prefix)
        ):
            best = rule
    return best


def resolve_visits_per_year(
    clinic_plan: int | None, rule: SupervisionRuleRow | None, default: int
) -> tuple[int, bool]:
    """(visits per year, below_minimum): the clinic's plan, else the rule's minimum, else `default`.

    A clinic plan below the rule's minimum is accepted; the flag says so.
    """
    if clinic_plan is not None:
        check_visits_per_year(clinic_plan)
        below_minimum = rule is not None and clinic_plan < rule.min_visits_per_year
        return clinic_plan, below_minimum
    if rule is not None:
        return rule.min_visits_per_year, False
    check_visits_per_year(default)
    return default, False


def _parse_rule(row: dict[str, str | None], where: str) -> SupervisionRuleRow:
    values = {column: (row.get(column) or "").strip() for column in _RULE_COLUMNS}
    if None in row:
        raise ValueError(f"{where}: more fields than the {len(_RULE_COLUMNS)} columns")
    prefix = values["icd10_prefix"]
    if not _ICD10_PREFIX.match(prefix):
        raise ValueError(
            f"{where}: icd10_prefix {prefix!r} is not a letter, two digits and an optional .subcode"
        )
    try:
        minimum = int(values["min_visits_per_year"])
    except ValueError:
        raise ValueError(
            f"{where}: min_visits_per_year {values['min_visits_per_year']!r} is not a whole number"
        ) from None
    if not 1 <= minimum <= MAX_VISITS_PER_YEAR:
        raise ValueError(
            f"{where}: min_visits_per_year must be between 1 and {MAX_VISITS_PER_YEAR}, got {minimum}"
        )
    specialty, source = values["specialty"], values["source"]
    if not specialty or len(specialty) > _MAX_SPECIALTY:
        raise ValueError(f"{where}: specialty must be 1..{_MAX_SPECIALTY} characters")
    if not source or len(source) > _MAX_SOURCE:
        raise ValueError(f"{where}: source must be 1..{_MAX_SOURCE} characters")
    if values["verified"] not in ("true", "false"):
        raise ValueError(f"{where}: verified must be 'true' or 'false', got {values['verified']!r}")
    return SupervisionRuleRow(
        icd10_prefix=prefix,
        min_visits_per_year=minimum,
        specialty=specialty,
        source=source,
        verified=values["verified"] == "true",
    )


def load_supervision_rules(path: Path | None = None) -> list[SupervisionRuleRow]:
    """Read and validate the rules table (by default the one shipped in `cases/supervision/data`).

    Raises ValueError naming the file and line of the first bad row.
    """
    path = path or SUPERVISION_RULES_PATH
    rules: list[SupervisionRuleRow] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        if tuple(reader.fieldnames or ()) != _RULE_COLUMNS:
            raise ValueError(
                f"{path.name} line 1: header must be {','.join(_RULE_COLUMNS)}, "
                f"got {','.join(reader.fieldnames or ())}"
            )
        for row in reader:
            where = f"{path.name} line {reader.line_num}"
            rule = _parse_rule(row, where)
            if rule.icd10_prefix in seen:
                raise ValueError(
                    f"{where}: icd10_prefix {rule.icd10_prefix} repeats line {seen[rule.icd10_prefix]}"
                )
            seen[rule.icd10_prefix] = reader.line_num
            rules.append(rule)
    return rules
