"""SQL of the registry: insurers, clinics, representatives, API clients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from cases.kit.paging import SortKey
from cases.kit.repository import Repository
from cases.registry.models import ApiClient, Insurer, MedicalOrganization, Representative


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


class RepresentativeRepository(Repository[Representative]):
    model = Representative

    async def by_subject(self, subject: str) -> Representative | None:
        found: Representative | None = await self.scalar(
            sa.select(Representative).where(col(Representative.subject) == subject)
        )
        return found
