"""SQL of patients and consents: lookups, search, pages."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from cases.kit.paging import SortKey
from cases.kit.repository import ChildRows, Repository
from cases.patients.models import Channel, NotificationConsent, Patient
from cases.supervision.models import (
    CaseStatus,
    SupervisionCase,
)


@dataclass(frozen=True)
class PatientFilter:
    search: str | None = None
    insurer_id: int | None = None
    clinic_id: int | None = None
    representative_id: int | None = None
    diagnosis_prefix: str | None = None
    has_active_case: bool | None = None


@dataclass(frozen=True)
class PatientSearch:
    """What a search string was understood as: exactly one of these is set."""

    enp: str | None = None
    snils: str | None = None
    phone: str | None = None
    name_prefix: str | None = None


class PatientOrder(enum.StrEnum):
    NAME = "name"
    REGISTERED = "registered"


class PatientRepository(Repository[Patient]):
    model = Patient

    async def by_enp(self, enp: str) -> Patient | None:
        found: Patient | None = await self.scalar(sa.select(Patient).where(col(Patient.enp) == enp))
        return found

    async def identifier_taken(self, column: str, value: str) -> bool:
        """Whether any patient, in the caller's scope or not, holds this ЕНП or СНИЛС: asked of
        the table itself (the data scope narrows entities, not tables), and answered with no
        more than yes or no."""
        table: sa.Table = Patient.__table__  # type: ignore[attr-defined]
        taken = await self.scalar(sa.select(sa.exists().where(table.c[column] == value)))
        return bool(taken)

    async def with_phone(self, phone: str) -> Sequence[Patient]:
        """Patients whose main or extra phone is `phone` (E.164): who a reply from it may come from."""
        found: Sequence[Patient] = await self.scalars(
            sa.select(Patient)
            .where(sa.or_(col(Patient.phone) == phone, col(Patient.phone_extra) == phone))
            .order_by(col(Patient.id))
        )
        return found

    async def by_snils(self, snils: str) -> Patient | None:
        found: Patient | None = await self.scalar(
            sa.select(Patient).where(col(Patient.snils) == snils)
        )
        return found

    def listing(self, filter: PatientFilter, search: PatientSearch | None) -> sa.Select[Any]:
        statement = sa.select(Patient)
        if search is not None:
            if search.enp is not None:
                statement = statement.where(col(Patient.enp) == search.enp)
            if search.snils is not None:
                statement = statement.where(col(Patient.snils) == search.snils)
            if search.phone is not None:
                statement = statement.where(
                    sa.or_(
                        col(Patient.phone) == search.phone, col(Patient.phone_extra) == search.phone
                    )
                )
            if search.name_prefix is not None:
                statement = statement.where(
                    col(Patient.search_name).startswith(search.name_prefix, autoescape=True)
                )
        if filter.insurer_id is not None:
            statement = statement.where(col(Patient.insurer_id) == filter.insurer_id)
        if filter.clinic_id is not None:
            statement = statement.where(col(Patient.attached_clinic_id) == filter.clinic_id)
        case_conditions = []
        if filter.representative_id is not None:
            case_conditions.append(
                col(SupervisionCase.representative_id) == filter.representative_id
            )
        if filter.diagnosis_prefix is not None:
            case_conditions.append(
                col(SupervisionCase.icd10).startswith(filter.diagnosis_prefix, autoescape=True)
            )
        if filter.has_active_case is not None:
            active = sa.exists().where(
                col(SupervisionCase.patient_id) == col(Patient.id),
                col(SupervisionCase.status) == CaseStatus.ACTIVE,
            )
            statement = statement.where(active if filter.has_active_case else ~active)
        if case_conditions:
            statement = statement.where(
                sa.exists().where(
                    col(SupervisionCase.patient_id) == col(Patient.id), *case_conditions
                )
            )
        return statement

    @staticmethod
    def ordering(
        order: PatientOrder = PatientOrder.NAME, descending: bool = False
    ) -> list[SortKey]:
        keys = [SortKey(col(Patient.id), descending)]
        if order is PatientOrder.NAME:
            keys.insert(0, SortKey(col(Patient.search_name), descending))
        return keys


class ConsentRepository(Repository[NotificationConsent]):
    model = NotificationConsent

    async def granted(self, patient_ids: Sequence[int]) -> dict[int, list[sa.Row[Any]]]:
        """Each patient's consents as (channel, granted) rows, with no entity built."""
        grouped: dict[int, list[sa.Row[Any]]] = {id_: [] for id_ in patient_ids}
        if patient_ids:
            rows = await self.execute(
                sa.select(
                    col(NotificationConsent.patient_id),
                    col(NotificationConsent.channel),
                    col(NotificationConsent.granted),
                ).where(col(NotificationConsent.patient_id).in_(set(patient_ids)))
            )
            for row in rows:
                grouped[row.patient_id].append(row)
        return grouped

    async def current(self, patient_id: int, channel: Channel) -> NotificationConsent | None:
        found: NotificationConsent | None = await self.scalar(
            sa.select(NotificationConsent).where(
                col(NotificationConsent.patient_id) == patient_id,
                col(NotificationConsent.channel) == channel,
            )
        )
        return found


CONSENTS_OF_PATIENT = ChildRows(
    col(NotificationConsent.patient_id), (SortKey(col(NotificationConsent.id)),)
)
