"""Per-request DataLoaders: every relation a query follows is fetched in one statement per level.

Each loader is named in `SOURCES` with the rows it reads; a compiled read (`schema.compiled`)
selects the same rows inside its statement. The request makes a loader on first use.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel
from strawberry.dataloader import DataLoader

from cases.appeals.models import Appeal, QualityExamination
from cases.appeals.repository import EXAMINATIONS_OF_APPEAL, QualityExaminationRepository
from cases.kit.repository import ChildReader, ChildRows, Repository
from cases.patients.models import Patient
from cases.patients.repository import CONSENTS_OF_PATIENT
from cases.registry.models import Insurer, MedicalOrganization, Representative
from cases.registry.repository import DESKS_OF_REPRESENTATIVE
from cases.reminders.models import InformingEvent, Reminder
from cases.reminders.repository import INFORMING_EVENTS_OF_PATIENT, REMINDERS_OF_PATIENT
from cases.supervision.models import SupervisionCase, SupervisionRule, Visit
from cases.supervision.repository import CASES_OF_PATIENT, PLANNED_VISITS_OF_CASE, VISITS_OF_CASE
from cases.worklist.models import ContactAttempt, WorkItem
from cases.worklist.repository import CONTACTS_OF_PATIENT

V = TypeVar("V")
# A nested list asks for its first N items: the key is (parent id, N).
Slice = tuple[int, int]


@dataclass(frozen=True)
class ById:
    """Rows of `model` by id."""

    model: type[SQLModel]


@dataclass(frozen=True)
class FirstOf:
    """The first child of each parent, or None."""

    rows: ChildRows


@dataclass(frozen=True)
class FirstN:
    """The first N children of each parent, keyed by (parent id, N), plus one that tells whether
    more follow."""

    rows: ChildRows


@dataclass(frozen=True)
class AllOf:
    """Every child of each parent (children a parent has few of, by a constraint)."""

    rows: ChildRows


@dataclass(frozen=True)
class CountOf:
    """How many children each parent has."""

    rows: ChildRows


Source = ById | FirstOf | FirstN | AllOf | CountOf

SOURCES: Final[Mapping[str, Source]] = {
    "insurer": ById(Insurer),
    "clinic": ById(MedicalOrganization),
    "representative": ById(Representative),
    "patient": ById(Patient),
    "case": ById(SupervisionCase),
    "visit": ById(Visit),
    "work_item": ById(WorkItem),
    "contact_attempt": ById(ContactAttempt),
    "reminder": ById(Reminder),
    "informing_event": ById(InformingEvent),
    "appeal": ById(Appeal),
    "examination": ById(QualityExamination),
    "supervision_rule": ById(SupervisionRule),
    "cases_of_patient": FirstN(CASES_OF_PATIENT),
    "case_count_of_patient": CountOf(CASES_OF_PATIENT),
    "visits_of_case": FirstN(VISITS_OF_CASE),
    "visit_count_of_case": CountOf(VISITS_OF_CASE),
    "next_visit_of_case": FirstOf(PLANNED_VISITS_OF_CASE),
    "last_contact_of_patient": FirstOf(CONTACTS_OF_PATIENT),
    "last_reminder_of_patient": FirstOf(REMINDERS_OF_PATIENT),
    "informing_events_of_patient": FirstN(INFORMING_EVENTS_OF_PATIENT),
    "informing_event_count_of_patient": CountOf(INFORMING_EVENTS_OF_PATIENT),
    "consents_of_patient": AllOf(CONSENTS_OF_PATIENT),
    "examinations_of_appeal": FirstN(EXAMINATIONS_OF_APPEAL),
    "desks_of_representative": AllOf(DESKS_OF_REPRESENTATIVE),
}


def by_id(repository: Repository[Any]) -> DataLoader[int, Any]:
    async def load(ids: Sequence[int]) -> list[Any]:
        found = await repository.get_many(ids)
        return [found.get(id_) for id_ in ids]

    return DataLoader(load_fn=load)


def by_parent(fetch: Callable[[Sequence[int]], Awaitable[dict[int, V]]]) -> DataLoader[int, V]:
    async def load(ids: Sequence[int]) -> list[V]:
        found = await fetch(ids)
        return [found[id_] for id_ in ids]

    return DataLoader(load_fn=load)


def sliced(
    fetch: Callable[[Sequence[int], int], Awaitable[dict[int, list[V]]]],
) -> DataLoader[Slice, list[V]]:
    """One statement per distinct N, however many parents ask."""

    async def load(keys: Sequence[Slice]) -> list[list[V]]:
        by_size: dict[int, list[int]] = defaultdict(list)
        for parent, size in keys:
            by_size[size].append(parent)
        found: dict[Slice, list[V]] = {}
        for size, parents in by_size.items():
            # One extra row tells the connection whether more follow.
            rows = await fetch(parents, size + 1)
            found.update({(parent, size): rows.get(parent, []) for parent in parents})
        return [found[key] for key in keys]

    return DataLoader(load_fn=load)


def _loader(source: Source, session: AsyncSession) -> DataLoader[Any, Any]:
    children = ChildReader.from_session(session)
    match source:
        case ById(model):
            return by_id(Repository.of_model(session, model))
        case FirstOf(spec):

            async def first(ids: Sequence[int]) -> dict[int, Any]:
                found = await children.first(spec, ids, 1)
                return {id_: rows[0] if rows else None for id_, rows in found.items()}

            return by_parent(first)
        case FirstN(spec):
            return sliced(lambda ids, limit: children.first(spec, ids, limit))
        case AllOf(spec):
            return by_parent(lambda ids: children.all(spec, ids))
        case CountOf(spec):
            return by_parent(lambda ids: children.counts(spec, ids))


class Loaders:
    """The request's loaders by name (`SOURCES`, and two that read through a link table), each
    made when first used: a request uses a few of them."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def __getattr__(self, name: str) -> DataLoader[Any, Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        source = SOURCES.get(name)
        if source is not None:
            loader = _loader(source, self._session)
        elif name == "examinations_of_case":
            loader = sliced(QualityExaminationRepository.from_session(self._session).for_cases)
        elif name == "examined_of_examination":
            loader = by_parent(QualityExaminationRepository.from_session(self._session).examined)
        else:
            raise AttributeError(name)
        setattr(self, name, loader)
        return loader
