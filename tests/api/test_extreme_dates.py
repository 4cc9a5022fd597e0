"""Dates at the calendar's extremes are refused as invalid input, never answered with a 500 or
stored as ±infinity: every date a person enters lies between 1900 and 2199."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ADMIN, GraphQLClient


@pytest.mark.parametrize("period", ["9999-12", "0001-01", "1899-12", "2200-01"])
async def test_a_monthly_report_of_an_implausible_month_is_refused(
    client: httpx.AsyncClient, period: str
) -> None:
    response = await client.get("/reports/monthly", params={"period": period}, headers=ADMIN)

    assert response.status_code == 400
    assert response.json()["field"] == "period"
    assert "between 1900-01-01 and 2199-12-31" in response.json()["message"]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
async def test_letters_of_an_implausible_day_are_refused(
    client: httpx.AsyncClient, day: str
) -> None:
    response = await client.get(f"/letters/{day}.csv", headers=ADMIN)

    assert response.status_code == 400
    assert "between 1900-01-01 and 2199-12-31" in response.text


@pytest.mark.parametrize(
    ("start", "end"), [("0001-01-01", "0001-01-31"), ("9999-12-01", "9999-12-31")]
)
async def test_statistics_of_an_implausible_period_are_refused(
    graphql: GraphQLClient, start: str, end: str
) -> None:
    body = await graphql(
        "query($s: Date!, $e: Date!) { statistics(periodStart: $s, periodEnd: $e) { activeCases } }",
        s=start,
        e=end,
    )

    [error] = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION"
    assert "between 1900-01-01 and 2199-12-31" in error["message"]


@pytest.mark.parametrize("since", ["0001-01-01", "9999-12-31"])
async def test_letter_batches_since_an_implausible_day_are_refused(
    graphql: GraphQLClient, since: str
) -> None:
    body = await graphql(
        "query($d: Date) { letterBatches(since: $d) { edges { node { day } } } }", d=since
    )

    [error] = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION"
    assert "between 1900-01-01 and 2199-12-31" in error["message"]
