"""Root query field of the figures."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry import relay

from cases.statistics.service import Period, StatisticsService
from schema.core.ids import optional_row_id
from schema.core.relay import Info
from schema.statistics.types import Statistics


@strawberry.type
class StatisticsQuery:
    @strawberry.field(description="Figures of a period (local dates, at most 366 days).")
    async def statistics(
        self,
        info: Info,
        period_start: date,
        period_end: date,
        insurer_id: relay.GlobalID | None = None,
        clinic_id: relay.GlobalID | None = None,
    ) -> Statistics:
        figures = await StatisticsService(
            info.context.session, info.context.rules.default_zone
        ).compute(
            Period(period_start, period_end),
            insurer_id=optional_row_id(insurer_id, "Insurer", "insurerId"),
            clinic_id=optional_row_id(clinic_id, "MedicalOrganization", "clinicId"),
        )
        return Statistics.of(figures)
