"""The monthly report a fund sends upward, as CSV or XLSX, for the CLI and the download route."""

from __future__ import annotations

import csv
import enum
import io

from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession

from cases.statistics.report import REPORT_COLUMNS, ReportRow, report_rows
from cases.statistics.service import Period, StatisticsService


class ReportFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


MEDIA_TYPES = {
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


async def monthly_report(
    session: AsyncSession, zone: str, month: str, insurer_id: int | None = None
) -> list[ReportRow]:
    """The one builder of the report's rows; `month` is YYYY-MM."""
    figures = await StatisticsService(session, zone).compute(
        Period.month(month), insurer_id=insurer_id
    )
    return report_rows(figures)


def render(rows: list[ReportRow], format: ReportFormat) -> bytes:
    if format is ReportFormat.CSV:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(REPORT_COLUMNS)
        writer.writerows(
            (row.section, row.indicator, "" if row.value is None else row.value) for row in rows
        )
        # A byte-order mark lets spreadsheet programs read the Cyrillic as UTF-8.
        return text.getvalue().encode("utf-8-sig")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("отчёт")
    sheet.append(list(REPORT_COLUMNS))
    for row in rows:
        sheet.append([row.section, row.indicator, row.value])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def file_name(month: str, format: ReportFormat) -> str:
    return f"dispensary-report-{month}.{format.value}"
