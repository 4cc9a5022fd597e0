"""Per-request DataLoaders: every relation a query follows is fetched in one statement per level."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from cases.repository import (
    AppealRepository,
    ClinicRepository,
    ConsentRepository,
    ContactAttemptRepository,
    InformingEventRepository,
    InsurerRepository,
    PatientRepository,
    QualityExaminationRepository,
    ReminderRepository,
    Repository,
    RepresentativeRepository,
    SupervisionCaseRepository,
    VisitQueries,
    WorklistRepository,
)

V = TypeVar("V")
# A nested list asks for its first N items: the key is (parent id, N).
Slice = tuple[int, int]


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


class Loaders:
    def __init__(self, session: AsyncSession) -> None:
        cases = SupervisionCaseRepository.from_session(session)
        visits = VisitQueries.from_session(session)
        self.insurer = by_id(InsurerRepository.from_session(session))
        self.clinic = by_id(ClinicRepository.from_session(session))
        self.representative = by_id(RepresentativeRepository.from_session(session))
        self.patient = by_id(PatientRepository.from_session(session))
        self.case = by_id(cases)
        self.visit = by_id(visits)
        self.work_item = by_id(WorklistRepository.from_session(session))
        self.cases_of_patient = sliced(cases.for_patients)
        self.case_count_of_patient = by_parent(cases.count_for_patients)
        self.visits_of_case = sliced(visits.for_cases)
        self.visit_count_of_case = by_parent(visits.count_for_cases)
        self.next_visit_of_case = by_parent(visits.next_planned)
        attempts = ContactAttemptRepository.from_session(session)
        self.contact_attempt = by_id(attempts)
        self.last_contact_of_patient = by_parent(attempts.latest_for_patients)
        reminders = ReminderRepository.from_session(session)
        self.reminder = by_id(reminders)
        self.last_reminder_of_patient = by_parent(reminders.latest_for_patients)
        events = InformingEventRepository.from_session(session)
        self.informing_event = by_id(events)
        self.informing_events_of_patient = sliced(events.for_patients)
        self.informing_event_count_of_patient = by_parent(events.count_for_patients)
        self.consents_of_patient = by_parent(ConsentRepository.from_session(session).for_patients)
        examinations = QualityExaminationRepository.from_session(session)
        self.appeal = by_id(AppealRepository.from_session(session))
        self.examination = by_id(examinations)
        self.examinations_of_appeal = sliced(examinations.for_appeals)
        self.examinations_of_case = sliced(examinations.for_cases)
        self.examined_of_examination = by_parent(examinations.examined)
