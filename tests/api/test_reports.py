"""The statistics query, the monthly report download and the `report` command agree."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import openpyxl
import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.conftest import ADMIN, GraphQLClient, RolledBackDatabase, migrate
from tests.factories import fixed_region, gid

STATISTICS = """
query($insurer: ID) {
  statistics(periodStart: "2026-10-01", periodEnd: "2026-10-31", insurerId: $insurer) {
    activeCases visitsPlanned visitsAttended visitsMissed attendanceRate
    reminders { channel status count }
    informingCoverage appealsByKind { key count } complaintShare appealsAnsweredOnTime
    examinationsCompletedByOutcome { key count }
  }
}
"""


async def test_statistics_query(graphql: GraphQLClient, db: RolledBackDatabase) -> None:
    region = await fixed_region(db)

    figures = (await graphql.data(STATISTICS, insurer=gid("Insurer", region["insurer"])))[
        "statistics"
    ]

    assert figures["activeCases"] == 2
    assert (figures["visitsPlanned"], figures["visitsAttended"], figures["visitsMissed"]) == (
        3,
        1,
        1,
    )
    assert figures["attendanceRate"] == 0.5
    assert {"channel": "SMS", "status": "FAILED", "count": 1} in figures["reminders"]
    assert figures["informingCoverage"] == 0.6667
    assert figures["appealsByKind"] == [
        {"key": "complaint", "count": 1},
        {"key": "consultation", "count": 1},
        {"key": "statement", "count": 1},
    ]
    assert figures["appealsAnsweredOnTime"] == 2


async def test_a_period_end_before_its_start_names_the_field(graphql: GraphQLClient) -> None:
    body = await graphql(
        'query { statistics(periodStart: "2026-10-31", periodEnd: "2026-10-01") { activeCases } }'
    )

    assert body["errors"][0]["extensions"]["field"] == "periodEnd"


async def test_monthly_report_downloads_as_csv_and_xlsx(
    client: httpx.AsyncClient, db: RolledBackDatabase
) -> None:
    # given
    await fixed_region(db)

    # when
    as_csv = await client.get(
        "/reports/monthly", params={"period": "2026-10", "format": "csv"}, headers=ADMIN
    )
    as_xlsx = await client.get(
        "/reports/monthly", params={"period": "2026-10", "format": "xlsx"}, headers=ADMIN
    )
    bad = await client.get("/reports/monthly", params={"period": "2026-13"}, headers=ADMIN)

    # then
    assert as_csv.status_code == 200
    assert as_csv.headers["content-disposition"] == (
        'attachment; filename="dispensary-report-2026-10.csv"'
    )
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0] == ["раздел", "показатель", "значение"]
    assert ["явки", "состоялось", "2"] in rows
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert [[value if value is not None else "" for value in row] for row in cells] == [
        [value if not value.replace(".", "").isdigit() else float(value) for value in row]
        for row in rows
    ]
    assert (bad.status_code, bad.json()["field"]) == (400, "period")


def test_report_command_writes_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: an empty region in a migrated SQLite file
    url = f"sqlite+aiosqlite:///{tmp_path / 'report.sqlite3'}"
    migrate(url)
    monkeypatch.setenv("DISPENSARY_DATABASE_URL", url)

    # when
    written = CliRunner().invoke(
        app,
        ["report", "--period", "2026-10", "--format", "xlsx", "--output", str(tmp_path / "r.xlsx")],
    )
    printed = CliRunner().invoke(app, ["report", "--period", "2026-10"])
    wrong = CliRunner().invoke(app, ["report", "--period", "october"])

    # then
    assert written.exit_code == 0, written.output
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx").active
    assert sheet is not None
    assert sheet.cell(1, 1).value == "раздел"
    assert printed.exit_code == 0
    assert "явки,состоялось,0" in printed.output
    assert wrong.exit_code == 2
    assert "must be a month as YYYY-MM" in wrong.output
