"""The committed schema.graphql is what clients generate code from: it must match the code."""

from __future__ import annotations

from pathlib import Path

from schema import schema

SCHEMA_FILE = Path(__file__).parents[2] / "schema.graphql"


def test_schema_graphql_is_up_to_date() -> None:
    exported = schema.as_str() + "\n"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == exported, (
        "schema.graphql is out of date: run `make schema` and commit it"
    )
