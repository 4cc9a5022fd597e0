"""SQL of the registry: insurers, clinics, representatives, API clients."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from cases.kit.paging import SortKey
from cases.kit.repository import ChildRows, Repository, on_postgresql
from cases.registry.models import ApiClient, DeskHours, Insurer, MedicalOrganization, Representative

# A representative's desk hours, by weekday and hour.
DESKS_OF_REPRESENTATIVE = ChildRows(
    col(DeskHours.representative_id),
    (
        SortKey(col(DeskHours.weekday)),
        SortKey(col(DeskHours.starts_at)),
        SortKey(col(DeskHours.id)),
    ),
)


# The channel on which a changed or ended login is announced to the API processes.
LOGIN_CHANGES = "dispensary_logins"


class InsurerRepository(Repository[Insurer]):
    model = Insurer

    async def by_code(self, code: str) -> Insurer | None:
        found: Insurer | None = await self.scalar(
            sa.select(Insurer).where(col(Insurer.code) == code)
        )
        return found

    def listing(self) -> sa.Select[Any]:
        return sa.select(Insurer)

    @staticmethod
    def ordering() -> list[SortKey]:
        return [SortKey(col(Insurer.name)), SortKey(col(Insurer.id))]


class ClinicRepository(Repository[MedicalOrganization]):
    model = MedicalOrganization

    async def by_code(self, code: str) -> MedicalOrganization | None:
        found: MedicalOrganization | None = await self.scalar(
            sa.select(MedicalOrganization).where(col(MedicalOrganization.code) == code)
        )
        return found

    def listing(self) -> sa.Select[Any]:
        return sa.select(MedicalOrganization)

    @staticmethod
    def ordering() -> list[SortKey]:
        return [SortKey(col(MedicalOrganization.code)), SortKey(col(MedicalOrganization.id))]


class ApiClientRepository(Repository[ApiClient]):
    model = ApiClient

    async def by_prefix(self, prefix: str) -> ApiClient | None:
        found: ApiClient | None = await self.scalar(
            sa.select(ApiClient).where(col(ApiClient.key_prefix) == prefix)
        )
        return found

    async def listing(self, clinic_id: int | None = None) -> Sequence[ApiClient]:
        statement = sa.select(ApiClient).order_by(col(ApiClient.id))
        if clinic_id is not None:
            statement = statement.where(col(ApiClient.clinic_id) == clinic_id)
        clients: Sequence[ApiClient] = await self.scalars(statement)
        return clients


@dataclass(frozen=True)
class RepresentativeFilter:
    insurer_id: int | None = None
    level: int | None = None
    active: bool | None = None
    # Those with desk hours at this clinic.
    clinic_id: int | None = None


class RepresentativeRepository(Repository[Representative]):
    model = Representative

    def listing(self, filter: RepresentativeFilter) -> sa.Select[Any]:
        statement = sa.select(Representative)
        if filter.insurer_id is not None:
            statement = statement.where(col(Representative.insurer_id) == filter.insurer_id)
        if filter.level is not None:
            statement = statement.where(col(Representative.level) == filter.level)
        if filter.active is not None:
            statement = statement.where(col(Representative.active) == filter.active)
        if filter.clinic_id is not None:
            statement = statement.where(
                sa.exists().where(
                    col(DeskHours.representative_id) == col(Representative.id),
                    col(DeskHours.clinic_id) == filter.clinic_id,
                )
            )
        return statement

    async def announce_login_change(self, subject: str) -> None:
        """Tell every API process, once this transaction commits, that what it keeps of this
        login is stale (PostgreSQL's NOTIFY; the embedded store has one process)."""
        if on_postgresql(self.session):
            await self.execute(sa.select(sa.func.pg_notify(LOGIN_CHANGES, subject)))

    @staticmethod
    def ordering() -> list[SortKey]:
        return [
            SortKey(col(Representative.last_name)),
            SortKey(col(Representative.first_name)),
            SortKey(col(Representative.id)),
        ]

    async def desks_of(self, representative_id: int) -> Sequence[DeskHours]:
        desks: Sequence[DeskHours] = await self.scalars(
            sa.select(DeskHours)
            .where(col(DeskHours.representative_id) == representative_id)
            .order_by(col(DeskHours.weekday), col(DeskHours.starts_at), col(DeskHours.id))
        )
        return desks

    async def replace_desks(self, representative_id: int, desks: Sequence[DeskHours]) -> None:
        await self.execute(
            sa.delete(DeskHours).where(col(DeskHours.representative_id) == representative_id)
        )
        for desk in desks:
            await self.add(desk)

    async def by_subject(self, subject: str) -> Representative | None:
        found: Representative | None = await self.scalar(
            sa.select(Representative).where(col(Representative.subject) == subject)
        )
        return found
