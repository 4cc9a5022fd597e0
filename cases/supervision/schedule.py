"""Schedules and durations as Order 168н writes them, and the visit windows a schedule plans.

A schedule is the minimum frequency of visits, in the forms the order's annexes use:
`per_year:N`, `every_months:M`, `every_years:Y`, `phases:A@M;B` (schedule A for the first M
months of supervision, then B) and `clinical` (the order gives no number: the clinic's plan or
the region's default applies). A duration is how long supervision lasts: `lifelong`,
`months:N` or `years:N` with an optional qualifier, `individual`, `until_surgery`,
`until_cancer_ruled_out`. Both are parsed from the text the rules table stores and written back
to the same text, so the table stays data a person can read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Final, Literal

MAX_VISITS_PER_YEAR: Final = 52


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, the day clamped to the target month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    next_month_first = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    last_day = (next_month_first - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def check_visits_per_year(visits_per_year: int) -> None:
    if not 1 <= visits_per_year <= MAX_VISITS_PER_YEAR:
        raise ValueError(
            f"visits per year must be between 1 and {MAX_VISITS_PER_YEAR}, got {visits_per_year}"
        )


Unit = Literal["per_year", "every_months", "every_years"]

_UNITS: Final[tuple[Unit, ...]] = ("per_year", "every_months", "every_years")
# The longest a visit window stays open; shorter when visits come so often that the next window
# would open inside this one.
_MAX_WINDOW_DAYS: Final = 30
# How far ahead a case's plan reaches.
PLAN_MONTHS: Final = 12


@dataclass(frozen=True)
class Frequency:
    """At least `count` visits a year, or one visit every `count` months or years."""

    unit: Unit
    count: int

    def __post_init__(self) -> None:
        if self.unit == "per_year":
            check_visits_per_year(self.count)
        elif not 1 <= self.count <= 120:
            raise ValueError(f"{self.unit} must be between 1 and 120, got {self.count}")

    @property
    def visits_per_year(self) -> Fraction:
        if self.unit == "per_year":
            return Fraction(self.count)
        if self.unit == "every_months":
            return Fraction(12, self.count)
        return Fraction(1, self.count)

    @property
    def _months(self) -> int | None:
        """Whole months between two visits, or None when the spacing is in days."""
        if self.unit == "every_months":
            return self.count
        if self.unit == "every_years":
            return 12 * self.count
        return 12 // self.count if 12 % self.count == 0 else None

    def due(self, anchor: date, k: int) -> date:
        """The k-th due date after `anchor`, counted from the anchor itself so that month-end
        clamping never drifts."""
        months = self._months
        if months is not None:
            return add_months(anchor, k * months)
        return anchor + timedelta(days=k * round(365 / self.count))

    @property
    def window_days(self) -> int:
        """How many days after its start a window ends (inclusive): 30, or one day less than
        the shortest gap between two due dates (28 days a month, since February can be that
        short)."""
        months = self._months
        shortest_gap = 28 * months if months is not None else round(365 / self.count)
        return min(_MAX_WINDOW_DAYS, shortest_gap - 1)

    def __str__(self) -> str:
        return f"{self.unit}:{self.count}"


@dataclass(frozen=True)
class Phase:
    """A frequency that holds for `months` months of supervision, or to the end (None)."""

    frequency: Frequency
    months: int | None = None


@dataclass(frozen=True)
class Schedule:
    """The minimum visit frequency over the course of supervision; no phases means the order
    gives no number (`clinical`)."""

    phases: tuple[Phase, ...]

    @classmethod
    def per_year(cls, visits: int) -> Schedule:
        return cls((Phase(Frequency("per_year", visits)),))

    @property
    def clinical(self) -> bool:
        return not self.phases

    def _starts(self, opened_on: date) -> Iterator[tuple[date, date | None, Frequency]]:
        """Each phase as (first day, first day of the next phase or None, frequency); the last
        phase runs to the end."""
        start, elapsed = opened_on, 0
        for index, phase in enumerate(self.phases):
            if phase.months is None or index == len(self.phases) - 1:
                yield start, None, phase.frequency
                return
            elapsed += phase.months
            end = add_months(opened_on, elapsed)
            yield start, end, phase.frequency
            start = end

    def frequency_on(self, opened_on: date, day: date) -> Frequency:
        """The frequency of the phase a case opened on `opened_on` is in on `day`."""
        self._require_number()
        phases = list(self._starts(opened_on))
        return next((f for _, end, f in phases if end is None or day < end), phases[-1][2])

    def due_dates(self, opened_on: date) -> Iterator[tuple[date, Frequency]]:
        """Due dates in order, with the frequency that set each. The first falls one spacing
        after opening; each later phase starts with a visit on its first day."""
        self._require_number()
        for start, end, frequency in self._starts(opened_on):
            k = 1 if start == opened_on else 0
            while True:
                due = frequency.due(start, k)
                if end is not None and due >= end:
                    break
                yield due, frequency
                k += 1

    def windows(
        self, opened_on: date, today: date, months: int = PLAN_MONTHS
    ) -> list[tuple[date, date]]:
        """The windows (start, inclusive end) of the plan from `today` for `months` months: the
        one open now, if any, and every one that starts within the horizon."""
        horizon = add_months(today, months)
        found: list[tuple[date, date]] = []
        for due, frequency in self.due_dates(opened_on):
            if due > horizon:
                break
            end = due + timedelta(days=frequency.window_days)
            if end >= today:
                found.append((due, end))
        return found

    def intensity(self) -> tuple[Fraction, ...]:
        """Visits a year phase by phase: the first phase first, so that comparing two tuples
        says which schedule asks for more, soonest."""
        return tuple(phase.frequency.visits_per_year for phase in self.phases)

    def _require_number(self) -> None:
        if self.clinical:
            raise ValueError("a clinical schedule plans nothing by itself")

    def __str__(self) -> str:
        if self.clinical:
            return "clinical"
        if len(self.phases) == 1:
            return str(self.phases[0].frequency)
        parts = [
            f"{phase.frequency}@{phase.months}"
            if phase.months is not None
            else str(phase.frequency)
            for phase in self.phases
        ]
        return "phases:" + ";".join(parts)


_FREQUENCY: Final = re.compile(r"(per_year|every_months|every_years):([0-9]{1,3})")


def _frequency(text: str) -> Frequency:
    match = _FREQUENCY.fullmatch(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a frequency: per_year:N, every_months:M or every_years:Y"
        )
    unit = match.group(1)
    assert unit in _UNITS
    return Frequency(unit, int(match.group(2)))


def parse_schedule(text: str) -> Schedule:
    """The schedule a rules-table cell writes; raises ValueError saying what is wrong."""
    text = text.strip()
    if text == "clinical":
        return Schedule(())
    if not text.startswith("phases:"):
        return Schedule((Phase(_frequency(text)),))
    parts = text.removeprefix("phases:").split(";")
    if len(parts) < 2:
        raise ValueError(f"{text!r}: phases need at least two parts, A@months;B")
    phases: list[Phase] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        frequency, at, months = part.partition("@")
        if last and at:
            raise ValueError(f"{text!r}: the last phase runs to the end and has no @months")
        if not last and not (at and months.isdigit() and 1 <= int(months) <= 240):
            raise ValueError(f"{text!r}: phase {index + 1} needs @months, 1 to 240")
        phases.append(Phase(_frequency(frequency), int(months) if not last else None))
    return Schedule(tuple(phases))


Qualifier = Literal["since_last_exacerbation", "without_relapse", "after_recovery", "after_surgery"]
Kind = Literal["lifelong", "fixed", "individual", "until_surgery", "until_cancer_ruled_out"]

_QUALIFIERS: Final[tuple[Qualifier, ...]] = (
    "since_last_exacerbation",
    "without_relapse",
    "after_recovery",
    "after_surgery",
)
_OPEN_ENDED: Final[tuple[Kind, ...]] = (
    "lifelong",
    "individual",
    "until_surgery",
    "until_cancer_ruled_out",
)
_FIXED: Final = re.compile(r"(months|years):([0-9]{1,3})(?::([a-z_]+))?")


@dataclass(frozen=True)
class Duration:
    """How long supervision lasts; only a fixed duration (`count` months or years) has an end
    the product can compute."""

    kind: Kind
    count: int | None = None
    unit: Literal["months", "years"] | None = None
    qualifier: Qualifier | None = None

    @property
    def months(self) -> int | None:
        if self.count is None:
            return None
        return self.count * (12 if self.unit == "years" else 1)

    def review_on(self, since: date) -> date | None:
        """The day supervision that began (or was last restarted) on `since` is due for review,
        or None when the duration has no fixed end."""
        months = self.months
        return add_months(since, months) if months is not None else None

    def __str__(self) -> str:
        if self.kind != "fixed":
            return self.kind
        base = f"{self.unit}:{self.count}"
        return f"{base}:{self.qualifier}" if self.qualifier else base


def parse_duration(text: str) -> Duration:
    """The duration a rules-table cell writes; raises ValueError saying what is wrong."""
    text = text.strip()
    for kind in _OPEN_ENDED:
        if text == kind:
            return Duration(kind)
    match = _FIXED.fullmatch(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: lifelong, months:N, years:N (with an optional"
            f" qualifier), individual, until_surgery or until_cancer_ruled_out"
        )
    unit, count, qualifier = match.groups()
    if not 1 <= int(count) * (12 if unit == "years" else 1) <= 1200:
        raise ValueError(f"{text!r}: the duration must be between 1 month and 100 years")
    if qualifier is not None and qualifier not in _QUALIFIERS:
        raise ValueError(f"{text!r}: the qualifier must be one of {', '.join(_QUALIFIERS)}")
    return Duration("fixed", int(count), unit, qualifier)  # type: ignore[arg-type]
