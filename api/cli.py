"""The `dispensary` command: serve, migrate, worker, scheduler and demo data."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import sqlalchemy as sa
import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

import cases.metadata  # noqa: F401 - every domain's tables on the metadata before the first flush
from cases.supervision.rules import SupervisionRuleService
from core.settings import Settings, env

if TYPE_CHECKING:
    from reminders.gateway import SmsGatewayStandIn

app = typer.Typer(
    help="Dispensary: follow-up of patients under dispensary supervision.", no_args_is_help=True
)


def fail(message: str) -> NoReturn:
    typer.secho(f"dispensary: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def load_settings() -> Settings:
    """The settings, or one clear line naming the bad variable."""
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        if not first["loc"]:
            # A rule over several settings: its message names each of them.
            fail(f"invalid settings: {first['msg'].removeprefix('Value error, ')}")
        fail(f"invalid setting {env('_'.join(str(part) for part in first['loc']))}: {first['msg']}")


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def _database_reachable(settings: Settings) -> None:
    from core.db import create_engine

    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))
    finally:
        await engine.dispose()


def require_database(settings: Settings) -> None:
    try:
        asyncio.run(asyncio.wait_for(_database_reachable(settings), 10))
    except Exception as error:  # noqa: BLE001 - reported as one line, not a traceback
        reason = type(error).__name__ if not str(error) else str(error).splitlines()[0]
        if isinstance(error, TimeoutError):
            reason = "no answer in 10 s"
        fail(
            f"cannot reach the database DISPENSARY_DATABASE_URL={safe_url(settings.database_url)}: "
            f"{reason[:200]}"
        )


async def load_reference_data(settings: Settings) -> None:
    """Rows the service ships as data (the supervision rules table); edits made since stay."""
    from core.db import create_engine, create_session_factory

    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            await SupervisionRuleService(session).load_shipped()
            await session.commit()
    finally:
        await engine.dispose()


def migrate_database(settings: Settings) -> None:
    """Upgrade the schema, then add rows of the shipped rules table that the database lacks."""
    from core.migrate import upgrade

    require_database(settings)
    upgrade(settings.database_url)
    asyncio.run(load_reference_data(settings))


@app.command()
def migrate() -> None:
    """Bring the database schema to the latest revision."""
    settings = load_settings()
    migrate_database(settings)
    typer.echo(f"database at {safe_url(settings.database_url)} is up to date")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    migrate: Annotated[
        bool | None,
        typer.Option(help="Apply migrations first (default: only for the embedded SQLite store)."),
    ] = None,
    background: Annotated[
        bool | None,
        typer.Option(
            help="Run the worker and the scheduler in this process (default: with the in-process broker)."
        ),
    ] = None,
) -> None:
    """Run the GraphQL API (embedded default: with the worker and the scheduler in-process)."""
    import uvicorn

    from core.logging import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    if migrate if migrate is not None else settings.is_sqlite:
        migrate_database(settings)
    else:
        require_database(settings)
    token = None
    if not settings.is_production:
        settings, token = with_development_token(settings)
    in_process = background if background is not None else settings.broker_url.startswith("memory")
    where = f"http://{host}:{port}"
    sms_gateway = None
    if settings.sms_gateway_url is None and not settings.is_production:
        from api.app import DEV_SMS_GATEWAY_PATH
        from core.settings import use_settings
        from reminders.gateway import SmsGatewayStandIn

        sms_gateway = SmsGatewayStandIn()
        settings = settings.model_copy(
            update={"sms_gateway_url": f"{where}{DEV_SMS_GATEWAY_PATH}", "public_url": where}
        )
        use_settings(settings)
        typer.echo(f"SMS: the local gateway at {where}{DEV_SMS_GATEWAY_PATH}/messages")
    application = build_application(settings, in_process=in_process, sms_gateway=sms_gateway)
    typer.echo(f"Dispensary API on {where}/graphql")
    if token is not None:
        typer.echo(f"GraphiQL: open {where}/graphql in a browser")
        typer.echo("development token (administrator, 12 hours); in GraphiQL's Headers tab put")
        typer.echo(f'  {{"Authorization": "Bearer {token}"}}')
    if in_process:
        typer.echo("worker and scheduler: running in this process")
    # Everything loaded so far (modules, the schema, the mappers) lives as long as the process:
    # keep it out of the collector's full passes, which otherwise stall a request now and then.
    gc.freeze()
    uvicorn.run(application, host=host, port=port, log_config=None, access_log=False)


# Where development keeps the secret it signs tokens with when none is set, so that `serve` and
# `dev-token` (another process) agree on it.
DEVELOPMENT_SECRET_FILE = Path(".dispensary-development-secret")


def development_secret(settings: Settings) -> str:
    """The HS256 secret of development: the one set, else the one kept in the working folder
    (made on first use, readable by its owner only)."""
    import secrets

    if settings.jwt_hs256_secret:
        return settings.jwt_hs256_secret
    if DEVELOPMENT_SECRET_FILE.exists():
        kept = DEVELOPMENT_SECRET_FILE.read_text().strip()
        if len(kept) >= 32:
            return kept
    secret = secrets.token_urlsafe(32)
    DEVELOPMENT_SECRET_FILE.touch(mode=0o600)
    DEVELOPMENT_SECRET_FILE.write_text(secret)
    return secret


def with_development_token(settings: Settings) -> tuple[Settings, str]:
    """Settings that accept HS256 tokens (development's secret) and an admin token."""
    from api.auth import mint_development_token

    secret = development_secret(settings)
    settings = settings.model_copy(update={"jwt_hs256_secret": secret})
    token = mint_development_token(
        secret,
        subject="development-admin",
        roles=["admin"],
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    return settings, token


def build_application(
    settings: Settings, *, in_process: bool, sms_gateway: SmsGatewayStandIn | None = None
) -> Starlette:
    """The API app with its engine and broker; with `in_process`, also the worker and scheduler."""
    from api.app import create_app
    from core.broker import install_broker
    from core.db import create_engine, create_session_factory

    engine = create_engine(settings)
    session_factory = create_session_factory(engine)
    broker = install_broker(settings.broker_url)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        stop: Callable[[], Any] | None = None
        if in_process:
            from reminders.runtime import start_background

            stop = await start_background(settings, broker, session_factory)
        try:
            yield
        finally:
            if stop is not None:
                await stop()
            await engine.dispose()

    return create_app(
        settings, engine, session_factory, broker, lifespan=lifespan, sms_gateway=sms_gateway
    )


@app.command()
def worker(
    threads: Annotated[int, typer.Option(help="Worker threads.")] = 4,
) -> None:
    """Process reminder and scan messages from the broker."""
    from core.logging import configure_logging
    from reminders.runtime import run_worker

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    if settings.broker_url.startswith("memory"):
        fail("DISPENSARY_BROKER_URL is memory://: a separate worker needs redis:// or amqp://")
    require_database(settings)
    run_worker(settings, threads=threads)


@app.command()
def scheduler() -> None:
    """Drive the periodic jobs (safe to run twice: each slot of each job runs once)."""
    from core.logging import configure_logging
    from reminders.runtime import run_scheduler

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    if settings.broker_url.startswith("memory"):
        fail("DISPENSARY_BROKER_URL is memory://: a separate scheduler needs redis:// or amqp://")
    require_database(settings)
    asyncio.run(run_scheduler(settings))


@app.command("seed-demo")
def seed_demo(
    patients: Annotated[int, typer.Option(help="Synthetic patients to create.")] = 3000,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same region.")
    ] = 1,
) -> None:
    """Fill the database with a demo region built from the public facts of one real region."""
    from api.demo import seed_region
    from core.db import create_engine, create_session_factory

    settings = load_settings()
    require_database(settings)

    async def run() -> dict[str, int]:
        engine = create_engine(settings)
        try:
            return await seed_region(create_session_factory(engine), patients=patients, seed=seed)
        finally:
            await engine.dispose()

    try:
        counts = asyncio.run(run())
    except ValueError as error:
        fail(str(error))
    for name, count in counts.items():
        typer.echo(f"{name}: {count}")


@app.command()
def report(
    period: Annotated[str, typer.Option(help="The month, as YYYY-MM.")],
    format: Annotated[str, typer.Option(help="csv or xlsx.")] = "csv",
    output: Annotated[
        Path | None, typer.Option(help="File to write (default: standard output for csv).")
    ] = None,
) -> None:
    """Write the monthly report a fund sends upward."""
    from api.reports import ReportFormat, monthly_report, render
    from cases.kit.errors import DomainError
    from core.db import create_engine, create_session_factory

    settings = load_settings()
    try:
        chosen = ReportFormat(format)
    except ValueError:
        fail("--format must be csv or xlsx")
    if chosen is ReportFormat.XLSX and output is None:
        fail("--format xlsx needs --output FILE")
    require_database(settings)

    async def build() -> bytes:
        engine = create_engine(settings)
        try:
            async with create_session_factory(engine)() as session:
                rows = await monthly_report(session, settings.default_timezone, period)
        finally:
            await engine.dispose()
        return render(rows, chosen)

    try:
        content = asyncio.run(build())
    except DomainError as error:
        fail(f"--{error.field or 'period'} {error.message}")
    if output is None:
        sys.stdout.buffer.write(content)
    else:
        output.write_bytes(content)
        typer.echo(f"report for {period} written to {output}")


api_key = typer.Typer(help="API keys of clinic systems.", no_args_is_help=True)
app.add_typer(api_key, name="api-key")

CLI_ACTOR_LABEL = "cli"


def run_in_session(work: Callable[[Any], Any]) -> Any:
    """Run `work(session)` in one committed transaction; a domain error is one red line."""
    from cases.kit.errors import DomainError
    from core.db import create_engine, create_session_factory

    settings = load_settings()
    require_database(settings)

    async def run() -> Any:
        engine = create_engine(settings)
        try:
            async with create_session_factory(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except DomainError as error:
        fail(f"{error.field}: {error.message}" if error.field else error.message)


def _cli_actor() -> Any:
    from cases.kit.actor import Actor, Role

    return Actor(role=Role.ADMIN, label=CLI_ACTOR_LABEL)


@api_key.command("create")
def api_key_create(
    clinic: Annotated[str, typer.Option(help="The clinic's id or registry code.")],
    scope: Annotated[
        list[str],
        typer.Option(help="patients:read, cases:write or visits:write; repeat for several."),
    ],
    name: Annotated[str, typer.Option(help="What the key is for, e.g. the clinic's MIS.")] = "",
) -> None:
    """Issue a key for a clinic system; the key is shown once and stored only as a hash."""
    from cases.registry.api_keys import ApiClientService

    secret = load_settings().api_key_secret
    issued = run_in_session(
        lambda session: ApiClientService(session, secret).issue(_cli_actor(), clinic, name, scope)
    )
    typer.echo(f"key prefix: {issued.client.key_prefix}")
    typer.echo(f"scopes: {' '.join(issued.client.scopes)}")
    typer.echo(f"key (shown once, store it now): {issued.key}")


@api_key.command("list")
def api_key_list(
    clinic: Annotated[str | None, typer.Option(help="Only this clinic's keys.")] = None,
) -> None:
    """Keys by prefix, with clinic, scopes and state (never the key itself)."""
    from cases.registry.api_keys import ApiClientService

    secret = load_settings().api_key_secret
    clients = run_in_session(lambda session: ApiClientService(session, secret).listing(clinic))
    for client in clients:
        state = "active" if client.active else f"revoked {client.revoked_at:%Y-%m-%d}"
        typer.echo(
            f"{client.key_prefix}\tclinic {client.clinic_id}\t{' '.join(client.scopes)}\t"
            f"{state}\t{client.name}"
        )


@api_key.command("revoke")
def api_key_revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix.")]) -> None:
    """Revoke a key at once; requests with it get 401 from then on."""
    from cases.registry.api_keys import ApiClientService

    secret = load_settings().api_key_secret
    run_in_session(lambda session: ApiClientService(session, secret).revoke(_cli_actor(), prefix))
    typer.echo(f"revoked {prefix}")


staff = typer.Typer(help="Representatives: onboarding from the command line.", no_args_is_help=True)
app.add_typer(staff, name="staff")


async def _insurer_id(session: Any, code: str) -> int:
    from cases.kit.errors import NotFound
    from cases.registry.repository import InsurerRepository

    insurer = await InsurerRepository.from_session(session).by_code(code.strip().upper())
    if insurer is None:
        raise NotFound(f"no insurer with the code {code!r}", field="insurer")
    return insurer.id  # type: ignore[return-value]


@staff.command("add")
def staff_add(
    insurer: Annotated[str, typer.Option(help="The insurer's code.")],
    level: Annotated[int, typer.Option(help="1, 2 or 3.")],
    last_name: Annotated[str, typer.Option()],
    first_name: Annotated[str, typer.Option()],
    middle_name: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    supervisor: Annotated[bool, typer.Option(help="Supervises the insurer's staff.")] = False,
    subject: Annotated[
        str | None, typer.Option(help="The login: the identity provider's subject.")
    ] = None,
) -> None:
    """Register a representative (the first supervisor of a fresh deployment, or a script's)."""
    from cases.registry.staff import StaffDraft, StaffService

    draft = StaffDraft(
        level=level,
        last_name=last_name,
        first_name=first_name,
        middle_name=middle_name,
        phone=phone,
        email=email,
        is_supervisor=supervisor,
    )

    async def add(session: Any) -> Any:
        insurer_id = await _insurer_id(session, insurer)
        return await StaffService(session).register(_cli_actor(), insurer_id, draft, subject)

    added = run_in_session(add)
    typer.echo(f"representative {added.id} registered" + (f", login {subject}" if subject else ""))


@staff.command("list")
def staff_list(
    insurer: Annotated[str | None, typer.Option(help="Only this insurer's (its code).")] = None,
) -> None:
    """Representatives by name: id, insurer, level, role, state, login (never contacts)."""
    from cases.kit.paging import MAX_PAGE_SIZE, PageRequest
    from cases.reads.pages import PageReader
    from cases.registry.repository import RepresentativeFilter
    from cases.registry.staff import StaffService

    async def listing(session: Any) -> list[Any]:
        insurer_id = await _insurer_id(session, insurer) if insurer else None
        service = StaffService(session)
        found: list[Any] = []
        after = None
        while True:
            query = service.page_query(
                RepresentativeFilter(insurer_id=insurer_id), PageRequest.of(MAX_PAGE_SIZE, after)
            )
            page, _count = await PageReader.from_session(session).entities(query)
            found += page.items
            if not page.has_next_page:
                return found
            after = page.cursors[-1]

    for row in run_in_session(listing):
        role = "supervisor" if row.is_supervisor else f"level {row.level}"
        state = "active" if row.active else "deactivated"
        typer.echo(
            f"{row.id}\tinsurer {row.insurer_id}\t{role}\t{state}\t"
            f"{row.last_name} {row.first_name}\t{row.subject or '-'}"
        )


@staff.command("link")
def staff_link(
    representative: Annotated[int, typer.Argument(help="The representative's id.")],
    subject: Annotated[str, typer.Argument(help="The identity provider's subject.")],
) -> None:
    """Link a login to a representative."""
    from cases.registry.staff import StaffService

    run_in_session(
        lambda session: StaffService(session).link(_cli_actor(), representative, subject)
    )
    typer.echo(f"representative {representative} signs in as {subject}")


@staff.command("deactivate")
def staff_deactivate(
    representative: Annotated[int, typer.Argument(help="The representative's id.")],
) -> None:
    """No more sign-ins for a representative (running API processes refuse them once their
    identity cache, IDENTITY_CACHE_SECONDS, has let them go)."""
    from cases.registry.staff import StaffService

    run_in_session(lambda session: StaffService(session).deactivate(_cli_actor(), representative))
    typer.echo(f"representative {representative} deactivated")


@app.command("dev-token")
def dev_token(
    representative: Annotated[
        int | None, typer.Option(help="Sign in as this representative (their linked login).")
    ] = None,
    admin: Annotated[bool, typer.Option(help="Sign in as the administrator.")] = False,
    fund: Annotated[bool, typer.Option(help="Sign in as the territorial fund.")] = False,
    clinic: Annotated[
        str | None, typer.Option(help="Issue an API key for this clinic's system (its code).")
    ] = None,
    hours: Annotated[int, typer.Option(help="How long the token is valid.")] = 12,
) -> None:
    """Development only: print a token the development server accepts (or a clinic's API key)."""
    from datetime import timedelta

    from api.auth import mint_development_token
    from cases.kit.actor import ClinicScope
    from cases.registry.api_keys import ApiClientService
    from cases.registry.repository import RepresentativeRepository

    settings = load_settings()
    if settings.is_production:
        fail("dev-token is for development; production signs in through the identity provider")
    if sum([representative is not None, admin, fund, clinic is not None]) != 1:
        fail("give exactly one of --representative ID, --admin, --fund, --clinic CODE")
    if clinic is not None:
        scopes = [scope.value for scope in ClinicScope]
        issued = run_in_session(
            lambda session: ApiClientService(session, settings.api_key_secret).issue(
                _cli_actor(), clinic, "development", scopes
            )
        )
        typer.echo(issued.key)
        return
    roles: list[str] = ["admin"] if admin else ["territorial_fund"] if fund else []
    subject = "development-admin" if admin else "development-fund"
    if representative is not None:

        async def linked(session: Any) -> str | None:
            found = await RepresentativeRepository.from_session(session).get(representative)
            if found is None or not found.active:
                fail(f"no active representative {representative}")
            return found.subject

        subject = run_in_session(linked) or ""
        if not subject:
            fail(
                f"representative {representative} has no login: "
                f"dispensary staff link {representative} SUBJECT"
            )
    typer.echo(
        mint_development_token(
            development_secret(settings),
            subject=subject,
            roles=roles,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            lifetime=timedelta(hours=hours),
        )
    )


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
