"""Authentication: JWKS-verified tokens from a real key server, the development secret,
clinic API keys, and what a request without them gets."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from dramatiq.brokers.stub import StubBroker
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from api.app import create_app
from api.auth import AuthenticationFailed, Authenticator, VerifiedTokens
from cases.kit.actor import Actor, Role
from cases.registry.api_keys import ApiClientService
from tests.conftest import Database, RolledBackDatabase, app_settings, bearer
from tests.factories import Region

ISSUER = "https://sso.example.ru/realms/dispensary"
AUDIENCE = "dispensary-api"
ME = "{ me { role label } }"


class KeyServer:
    """A JWKS document served over HTTP on loopback, as an identity provider serves it."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        keys = [
            {
                **json.loads(RSAAlgorithm.to_jwk(self.rsa.public_key())),
                "kid": "rsa-1",
                "alg": "RS256",
                "use": "sig",
            },
            {
                **json.loads(ECAlgorithm.to_jwk(self.ec.public_key())),
                "kid": "ec-1",
                "alg": "ES256",
                "use": "sig",
            },
        ]
        document = json.dumps({"keys": keys}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(document)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/certs"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def token(self, algorithm: str = "RS256", **claims: Any) -> str:
        now = datetime.now(UTC)
        payload = {
            "sub": "idp-admin",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + timedelta(minutes=5),
            "realm_access": {"roles": ["admin"]},
            **claims,
        }
        key, kid = (self.rsa, "rsa-1") if algorithm == "RS256" else (self.ec, "ec-1")
        return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


@pytest.fixture(scope="module")
def key_server() -> Iterator[KeyServer]:
    server = KeyServer()
    server.thread.start()
    yield server
    server.server.shutdown()


@pytest.fixture
async def http(
    db: RolledBackDatabase, database: Database, key_server: KeyServer
) -> AsyncIterator[httpx.AsyncClient]:
    settings = app_settings(
        database.url, jwt_jwks_url=key_server.url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE
    )
    app = create_app(settings, database.engine, db.sessions, StubBroker())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def me(http: httpx.AsyncClient, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization else {}
    return await http.post("/graphql", json={"query": ME}, headers=headers)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
async def test_a_token_signed_by_the_identity_provider_is_accepted(
    http: httpx.AsyncClient, key_server: KeyServer, algorithm: str
) -> None:
    response = await me(http, f"Bearer {key_server.token(algorithm)}")

    assert response.status_code == 200
    assert response.json()["data"]["me"] == {"role": "ADMIN", "label": "admin:idp-admin"}


async def test_a_representative_is_found_by_the_token_subject(
    http: httpx.AsyncClient, key_server: KeyServer, db: RolledBackDatabase
) -> None:
    # given
    async with db.session() as session:
        _, _, representative = await Region(session).basics()
        await session.commit()

    # when
    token = key_server.token(sub=representative.subject, realm_access={"roles": []})
    response = await me(http, f"Bearer {token}")

    # then
    assert response.json()["data"]["me"] == {
        "role": "REPRESENTATIVE",
        "label": f"representative:{representative.id}",
    }


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": datetime(2020, 1, 1, tzinfo=UTC)}, "token expired"),
        ({"aud": "another-api"}, "token audience is not this API"),
        ({"iss": "https://evil.example"}, "token issuer is not trusted"),
        (
            {"sub": "nobody-known", "realm_access": {"roles": []}},
            "no active representative is linked to this account",
        ),
    ],
)
async def test_a_bad_token_is_401_with_the_reason(
    http: httpx.AsyncClient, key_server: KeyServer, claims: dict[str, Any], reason: str
) -> None:
    response = await me(http, f"Bearer {key_server.token(**claims)}")

    assert response.status_code == 401
    assert response.json()["errors"][0] == {
        "message": reason,
        "extensions": {"code": "UNAUTHENTICATED"},
    }
    assert response.headers["www-authenticate"].startswith('Bearer realm="dispensary"')
    assert reason in response.headers["www-authenticate"]


async def test_a_token_signed_by_another_key_is_refused(http: httpx.AsyncClient) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        {
            "sub": "x",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "exp": datetime.now(UTC) + timedelta(minutes=1),
            "roles": ["admin"],
        },
        stranger,
        algorithm="RS256",
        headers={"kid": "rsa-1"},
    )

    response = await me(http, f"Bearer {forged}")

    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "token signature is invalid"


async def test_unsigned_and_garbage_tokens_are_refused(http: httpx.AsyncClient) -> None:
    unsigned = jwt.encode({"sub": "x", "roles": ["admin"]}, None, algorithm="none")

    for authorization in (f"Bearer {unsigned}", "Bearer not.a.token", "Basic YTpi", "Bearer"):
        response = await me(http, authorization)
        assert response.status_code == 401, authorization
        assert "Traceback" not in response.text


async def test_no_credentials_only_probes_and_graphiql(http: httpx.AsyncClient) -> None:
    assert (await me(http, None)).status_code == 401
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/readyz")).status_code == 200
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_the_development_secret_signs_tokens(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": ME}, headers=bearer("dev-fund", "territorial_fund")
    )

    assert response.json()["data"]["me"]["role"] == "TERRITORIAL_FUND"


async def test_a_clinic_key_works_until_revoked(
    http: httpx.AsyncClient, db: RolledBackDatabase, database: Database
) -> None:
    # given
    secret = app_settings(database.url).api_key_secret
    admin = Actor(Role.ADMIN, "test")
    async with db.session() as session:
        _, clinic, _ = await Region(session).basics()
        issued = await ApiClientService(session, secret).issue(
            admin, clinic.code, "МИС", ["visits:write"]
        )
        await session.commit()

    # when
    accepted = await me(http, f"ApiKey {issued.key}")
    wrong = await me(http, f"ApiKey {issued.key[:-2]}xx")
    async with db.session() as session:
        await ApiClientService(session, secret).revoke(admin, issued.client.key_prefix)
        await session.commit()
    revoked = await me(http, f"ApiKey {issued.key}")

    # then
    assert accepted.json()["data"]["me"] == {
        "role": "CLINIC_SYSTEM",
        "label": f"api_client:{issued.client.id}",
    }
    assert issued.key not in issued.client.key_hash
    assert wrong.status_code == 401
    assert revoked.status_code == 401
    assert revoked.json()["errors"][0]["message"] == "API key was revoked"


def test_a_verified_token_is_kept_until_it_expires() -> None:
    # given
    verified = VerifiedTokens(size=2)
    verified.keep("token", {"sub": "a", "exp": 100})

    # when, then: found before its expiry, forgotten at it
    assert verified.get("token", 99.5) == {"sub": "a", "exp": 100}
    assert verified.get("token", 100.0) is None
    assert verified.get("token", 99.5) is None


def test_the_tokens_kept_are_bounded() -> None:
    verified = VerifiedTokens(size=2)
    for name in ("a", "b", "c"):
        verified.keep(name, {"exp": 100})

    assert [verified.get(name, 0) is not None for name in ("a", "b", "c")] == [False, True, True]


async def test_a_token_is_verified_once_however_often_it_is_sent(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    decoded: list[str] = []
    decode = jwt.decode

    def counted(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counted)
    headers = bearer("kept-admin", "admin")

    # when
    for _ in range(3):
        response = await client.post("/graphql", json={"query": ME}, headers=headers)
        assert response.json()["data"]["me"]["role"] == "ADMIN"

    # then
    assert len(decoded) == 1


@pytest.mark.parametrize("seconds", [30.0, 0.0])
async def test_a_representative_found_is_known_for_the_identity_cache_time_only(
    db: RolledBackDatabase, database: Database, seconds: float
) -> None:
    # given a representative found once by their token's subject
    now = [1000.0]
    authenticator = Authenticator(
        app_settings(database.url, identity_cache_seconds=seconds), clock=lambda: now[0]
    )
    async with db.session() as session:
        _, _, representative = await Region(session).basics()
        await session.commit()
    header = bearer(representative.subject or "", "representative")["Authorization"]
    async with db.session() as session:
        found = await authenticator.actor(header, session)
    assert found.label == f"representative:{representative.id}"

    # when they are deactivated
    async with db.session() as session:
        representative.active = False
        session.add(representative)
        await session.commit()
    looked_up = len(db.statements)
    now[0] += seconds - 1

    # then within the cache time they are still known, without a statement
    if seconds:
        async with db.session() as session:
            assert await authenticator.actor(header, session) == found
        assert len(db.statements) == looked_up
    # and after it (at once, with no cache) they are refused
    now[0] += 2
    async with db.session() as session:
        with pytest.raises(AuthenticationFailed, match="no active representative"):
            await authenticator.actor(header, session)


async def test_a_subject_no_representative_has_is_not_kept(
    db: RolledBackDatabase, database: Database
) -> None:
    # given a token whose subject is not linked yet
    authenticator = Authenticator(app_settings(database.url, identity_cache_seconds=30))
    header = bearer("linked-later", "representative")["Authorization"]
    async with db.session() as session:
        with pytest.raises(AuthenticationFailed):
            await authenticator.actor(header, session)

    # when a representative is linked to it
    async with db.session() as session:
        _, _, representative = await Region(session).basics()
        representative.subject = "linked-later"
        session.add(representative)
        await session.commit()

    # then the next request finds them
    async with db.session() as session:
        found = await authenticator.actor(header, session)
    assert found.representative_id == representative.id
