"""Tests for cases.supervision.rules: the visits per year a diagnosis asks for, and the rules file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cases.supervision.rules import (
    SupervisionRuleRow,
    load_supervision_rules,
    match_rule,
    resolve_visits_per_year,
)


def _rule(prefix: str, minimum: int = 2) -> SupervisionRuleRow:
    return SupervisionRuleRow(
        icd10_prefix=prefix,
        min_visits_per_year=minimum,
        specialty="терапевт",
        source="test",
        verified=False,
    )


def test_clinic_plan_wins_and_is_flagged_below_the_minimum() -> None:
    assert resolve_visits_per_year(1, _rule("I11", 2), default=1) == (1, True)
    assert resolve_visits_per_year(4, _rule("I11", 2), default=1) == (4, False)
    assert resolve_visits_per_year(2, None, default=1) == (2, False)


def test_rule_minimum_is_used_without_a_clinic_plan() -> None:
    assert resolve_visits_per_year(None, _rule("E11", 2), default=1) == (2, False)


def test_default_is_used_without_plan_or_rule() -> None:
    assert resolve_visits_per_year(None, None, default=1) == (1, False)


@pytest.mark.parametrize(
    ("icd10", "expected"),
    [("I11.9", "I11"), ("I10", "I1"), ("E11.21", "E11.2"), ("e11.9", "E11"), ("J45", None)],
)
def test_match_rule_takes_the_longest_prefix(icd10: str, expected: str | None) -> None:
    # given
    rules = [_rule("I1"), _rule("I11"), _rule("E11"), _rule("E11.2")]

    # when
    rule = match_rule(icd10, rules)

    # then
    assert (rule.icd10_prefix if rule else None) == expected


def test_shipped_rules_load_and_none_is_verified() -> None:
    # when
    rules = load_supervision_rules()

    # then
    assert len(rules) >= 12
    assert not any(rule.verified for rule in rules)
    assert all("Order 168н" in rule.source for rule in rules)
    assert match_rule("N18.3", rules) is not None


@pytest.mark.parametrize(
    ("bad_row", "complaint"),
    [
        ("I1,1,терапевт,src,false", "icd10_prefix"),
        ("I10,0,терапевт,src,false", "min_visits_per_year"),
        ("I10,two,терапевт,src,false", "min_visits_per_year"),
        ("I10,1,терапевт,src,yes", "verified"),
        ("I10,1,,src,false", "specialty"),
        ("I11,1,терапевт,src,false", "repeats line 2"),
    ],
)
def test_bad_rule_row_names_its_line(tmp_path: Path, bad_row: str, complaint: str) -> None:
    # given
    path = tmp_path / "rules.csv"
    path.write_text(
        "icd10_prefix,min_visits_per_year,specialty,source,verified\n"
        "I11,1,терапевт,src,false\n"
        f"{bad_row}\n",
        encoding="utf-8",
    )

    # when / then
    with pytest.raises(ValueError, match=r"rules\.csv line 3") as raised:
        load_supervision_rules(path)
    assert complaint in str(raised.value)
