"""Staff from the command line, and development tokens the development server accepts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from dramatiq.brokers.stub import StubBroker
from strawberry.relay import to_base64
from typer.testing import CliRunner

from api.app import create_app
from api.cli import DEVELOPMENT_SECRET_FILE, app, development_secret
from core.db import create_engine, create_session_factory
from core.migrate import upgrade
from core.settings import Settings

runner = CliRunner()
ME = "{ me { role label representative { id } } }"


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated embedded store in an empty working folder, with one insurer."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'dispensary.sqlite3'}"
    upgrade(url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISPENSARY_DATABASE_URL", url)
    monkeypatch.delenv("DISPENSARY_JWT_HS256_SECRET", raising=False)
    added = runner.invoke(app, ["seed-demo", "--patients", "0", "--seed", "3"])
    assert added.exit_code == 0, added.output
    return url


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output.strip()


def me(url: str, token: str) -> dict[str, object]:
    """What the development server says of a token (its settings as `serve` makes them)."""

    async def ask() -> dict[str, object]:
        settings = Settings(database_url=url, jwt_hs256_secret=development_secret(Settings()))
        engine = create_engine(settings)
        application = create_app(settings, engine, create_session_factory(engine), StubBroker())
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.post(
                "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
            )
        await engine.dispose()
        body: dict[str, object] = response.json()
        return body

    return asyncio.run(ask())


def test_a_representative_added_and_linked_signs_in_with_a_development_token(
    fresh: str,
) -> None:
    # given: a representative added, then linked to a login
    added = invoke(
        "staff",
        "add",
        "--insurer",
        "VTB-MS",
        "--level",
        "3",
        "--last-name",
        "Петрова",
        "--first-name",
        "Анна",
    )
    representative = added.split()[1]
    invoke("staff", "link", representative, "kc-anna")
    listed = invoke("staff", "list", "--insurer", "VTB-MS")

    # when
    token = invoke("dev-token", "--representative", representative)

    # then
    [line] = [line for line in listed.splitlines() if line.startswith(f"{representative}\t")]
    assert line.endswith("\tПетрова Анна\tkc-anna")
    assert me(fresh, token)["data"] == {
        "me": {
            "role": "REPRESENTATIVE",
            "label": f"representative:{representative}",
            "representative": {"id": to_base64("Representative", representative)},
        }
    }
    assert DEVELOPMENT_SECRET_FILE.stat().st_mode & 0o077 == 0


def test_demo_representatives_have_logins_and_the_administrators_token_works(
    fresh: str,
) -> None:
    listed = invoke("staff", "list")
    first = listed.splitlines()[0].split("\t")

    assert first[-1].startswith("demo:")
    role = "SUPERVISOR" if first[2] == "supervisor" else "REPRESENTATIVE"
    assert me(fresh, invoke("dev-token", "--representative", first[0]))["data"] == {
        "me": {
            "role": role,
            "label": f"{role.lower()}:{first[0]}",
            "representative": {"id": to_base64("Representative", first[0])},
        }
    }
    assert me(fresh, invoke("dev-token", "--admin"))["data"] == {
        "me": {"role": "ADMIN", "label": "admin:development-admin", "representative": None}
    }


def test_a_deactivated_representative_gets_no_token(fresh: str) -> None:
    representative = invoke("staff", "list").splitlines()[0].split("\t")[0]

    invoke("staff", "deactivate", representative)
    refused = runner.invoke(app, ["dev-token", "--representative", representative])

    assert refused.exit_code == 2
    assert f"no active representative {representative}" in refused.output


def test_production_has_no_development_tokens(fresh: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPENSARY_ENVIRONMENT", "production")
    monkeypatch.setenv("DISPENSARY_API_KEY_SECRET", "a-production-secret")

    refused = runner.invoke(app, ["dev-token", "--admin"])

    assert refused.exit_code == 2
    assert "dev-token is for development" in refused.output
