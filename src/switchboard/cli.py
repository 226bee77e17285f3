"""`switchboard`: one command for every process role of the platform."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import orjson
import typer

from switchboard.config import Settings, SettingsError, load_settings

app = typer.Typer(
    name="switchboard",
    help="Switchboard: customers to people by chat, phone and booked consultations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _settings(**overrides: Any) -> Settings:
    from switchboard.core.logging import configure_logging

    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        typer.echo(f"switchboard: {exc}", err=True)
        raise typer.Exit(2) from None
    configure_logging(level=settings.log_level, json=settings.json_logs())
    return settings


@app.command()
def demo(
    port: Annotated[
        int, typer.Option(help="Port of the platform; emulators use the next ones.")
    ] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Start everything on embedded defaults: PostgreSQL in ./var, the 1C and Chatwoot
    emulators with demo data, the API and a worker. Prints every URL; Ctrl+C stops it all."""
    _refuse_in_production("demo")
    _require_sandbox_extra("demo")
    from switchboard.demo import run_demo

    settings = _settings(ENV="demo", **({} if _has_log_format() else {"LOG_FORMAT": "console"}))
    sys.exit(asyncio.run(run_demo(settings, host=host, port=port)))


def _refuse_in_production(command: str) -> None:
    """The demo and the emulators stand in for real systems: never next to production data."""
    from pydantic import Field, ValidationError

    from switchboard.core.settings import Environment, SettingsSection

    class Deployment(SettingsSection):
        env: Environment = Field(Environment.DEV, validation_alias="ENV")

    try:
        environment = Deployment().env
    except ValidationError:
        return  # the command's own settings check reports a bad ENV
    if environment is Environment.PROD:
        typer.echo(
            f"switchboard: {command} is not available with ENV=prod "
            "(it runs emulators in place of the real systems)",
            err=True,
        )
        raise typer.Exit(2)


def _require_sandbox_extra(command: str) -> None:
    """The emulators' own dependencies come with the `sandbox` extra, which a production install
    leaves out; say so in one line rather than with an import traceback."""
    try:
        import switchboard.sandbox.chatwoot
        import switchboard.sandbox.onec  # noqa: F401 - the emulators themselves, parser included
    except ModuleNotFoundError as exc:
        typer.echo(
            f"switchboard: {command} needs the sandbox extra ({exc.name} is not installed); "
            "install it with `./dev` or `uv sync --extra sandbox`",
            err=True,
        )
        raise typer.Exit(2) from None


def _has_log_format() -> bool:
    import os

    return "LOG_FORMAT" in os.environ


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default APP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default APP_PORT).")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (migrates the database first). Run `switchboard worker` beside it."""
    import uvicorn

    from switchboard.main import create_app
    from switchboard.ops.server import uvicorn_options

    settings = _settings()
    options: dict[str, Any] = {
        "host": host or settings.app_host,
        "port": port or settings.app_port,
        # Header size limit, and X-Forwarded-For believed only from TRUSTED_PROXIES.
        **uvicorn_options(settings),
        "log_config": None,
        "access_log": False,
    }
    if workers > 1:
        uvicorn.run(
            "switchboard.main:app_from_environment", factory=True, workers=workers, **options
        )
    else:
        uvicorn.run(create_app(settings), **options)


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Jobs run at once (default WORKER_CONCURRENCY).")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve /metrics of this worker on this port (0: off).")
    ] = None,
    stalled_after: Annotated[
        float | None,
        typer.Option(
            min=1,
            help="Seconds without a heartbeat after which a worker counts as dead "
            "(default WORKER_STALLED_AFTER_SECONDS).",
        ),
    ] = None,
    stalled_check_every: Annotated[
        float | None,
        typer.Option(
            min=0.5,
            help="Seconds between checks for jobs of dead workers "
            "(default WORKER_STALLED_CHECK_SECONDS).",
        ),
    ] = None,
) -> None:
    """Run background jobs and periodic schedules (ETL every 15 minutes, users daily 03:00 UTC).
    Start as many as you like, on as many hosts: each periodic job runs once per period. The job
    of a worker that died is run again within about `stalled-after` + `stalled-check-every`."""
    from switchboard.worker_process import run_worker

    settings = _settings()
    asyncio.run(
        run_worker(
            settings,
            concurrency=concurrency or settings.worker_concurrency,
            metrics_port=settings.worker_metrics_port if metrics_port is None else metrics_port,
            stalled_after=stalled_after or settings.worker_stalled_after_seconds,
            stalled_check_every=stalled_check_every or settings.worker_stalled_check_seconds,
        )
    )


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply database migrations (to DATABASE_URL, or to the embedded PostgreSQL in DATA_DIR)."""
    from switchboard.core.db.embedded import EmbeddedPostgres
    from switchboard.core.db.migrate import upgrade

    settings = _settings()
    url = settings.configured_database_url()
    embedded = None
    if url is None:
        embedded = EmbeddedPostgres(settings.data_dir / "postgres")
        url = embedded.start()
    try:
        upgrade(url, revision)
    finally:
        if embedded is not None:
            embedded.stop()
    typer.echo(f"database migrated to {revision}")


@app.command("new-secret-key")
def new_secret_key() -> None:
    """Print a new key for SECRET_KEYS (put it first to encrypt with it; keep the old ones after
    it until every stored secret was written again)."""
    from switchboard.core.crypto import new_key

    typer.echo(new_key())


@app.command("telephony-deliver")
def telephony_deliver(
    crm: Annotated[
        str | None,
        typer.Option(help="Serve only this CRM (e.g. retailcrm): one service per CRM."),
    ] = None,
) -> None:
    """Run the telephony delivery service alone: plans what CRMs are owed for each stored call
    event and carries it out, in order per call, until it lands. API processes run it too; run
    this to give a CRM processes of its own (as many as you like, on any hosts)."""
    from switchboard.domains import open_runtime
    from switchboard.telephony.delivery.tasks import keep_delivering
    from switchboard.telephony.gateway.tasks import keep_cache_current, maintain_cache

    settings = _settings()

    async def serve_forever() -> None:
        async with open_runtime(settings) as runtime:
            await asyncio.gather(
                keep_cache_current(runtime),
                maintain_cache(runtime),
                keep_delivering(runtime, only=crm),
            )

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever())


#: An enterprise's number as the admin pages and the PBX's settings name it.
_ENTERPRISE_NUMBER = r"^[A-Za-z0-9_-]{1,20}$"
#: An internal number (extension): digits only.
_EXTENSION = r"^\d{1,10}$"
_MIN_PASSWORD = 8


def _refuse(message: str) -> NoReturn:
    typer.echo(f"switchboard: {message}", err=True)
    raise typer.Exit(2)


def _checked_enterprise_number(number: str) -> str:
    import re

    if not re.match(_ENTERPRISE_NUMBER, number):
        _refuse(f"enterprise number {number!r}: 1-20 letters, digits, '-' or '_'")
    return number


def _checked_time_zone(time_zone: str | None) -> str | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if time_zone is None:
        return None
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        _refuse(f"unknown time zone {time_zone!r} (e.g. Europe/Minsk, Asia/Tashkent)")
    return time_zone


def _admin_password() -> str:
    password: str = typer.prompt(
        "Admin password for the enterprise's admin pages",
        hide_input=True,
        confirmation_prompt=True,
    )
    if len(password) < _MIN_PASSWORD:
        _refuse(f"the admin password needs at least {_MIN_PASSWORD} characters")
    return password


@contextlib.asynccontextmanager
async def _migrated() -> AsyncIterator[None]:
    """A database without the tables says so in one line. (These commands do not migrate: a
    schema change is `switchboard migrate`'s, or `serve`'s, to make.)"""
    import psycopg
    from sqlalchemy.exc import ProgrammingError

    try:
        yield
    except ProgrammingError as error:
        if not isinstance(error.orig, psycopg.errors.UndefinedTable):
            raise
        _refuse("the database has no telephony tables yet; run `switchboard migrate` first")


@app.command("telephony-enterprise")
def telephony_enterprise(
    number: Annotated[str, typer.Argument(help="The enterprise's number, e.g. 0367.")],
    *,
    name: Annotated[str, typer.Option(help="Its name, as the admin pages show it.")],
    token: Annotated[
        str | None,
        typer.Option(
            help="The PBX token (what its dialplan sends as Token); replaces the old one. "
            "Prefer --new-token: a token typed here stays in the shell's history."
        ),
    ] = None,
    new_token: Annotated[
        bool,
        typer.Option(
            "--new-token", help="Make a new PBX token, replacing the old one; printed once."
        ),
    ] = False,
    admin_password_prompt: Annotated[
        bool,
        typer.Option(
            "--admin-password-prompt",
            help="Ask for the admin pages' password (twice, not shown; kept as a scrypt hash).",
        ),
    ] = False,
    time_zone: Annotated[
        str | None, typer.Option(help="The PBX's time zone (new enterprises: Europe/Minsk).")
    ] = None,
    inactive: Annotated[
        bool, typer.Option("--inactive", help="Refuse its PBX's events (default: active).")
    ] = False,
) -> None:
    """Create or change a telephony enterprise. A new one needs a PBX token (--token or
    --new-token); only the token's digest is kept, so a lost token is replaced, not shown.
    Every process picks the change up at once."""
    _checked_enterprise_number(number)
    if token is not None and new_token:
        _refuse("pass either --token or --new-token, not both")
    if token is not None and not token.strip():
        _refuse("--token is empty")
    if not name.strip():
        _refuse("--name is empty")
    _checked_time_zone(time_zone)
    password = _admin_password() if admin_password_prompt else None
    made_token = None
    if new_token:
        from switchboard.telephony.admin.service import new_pbx_token

        made_token = new_pbx_token()
    settings = _settings()
    created = asyncio.run(
        _save_enterprise(
            settings,
            number=number,
            name=name.strip(),
            token=made_token or token,
            active=not inactive,
            time_zone=time_zone,
            password=password,
        )
    )
    state = "inactive" if inactive else "active"
    typer.echo(
        f"enterprise {number} ({name.strip()}) {'created' if created else 'changed'}, {state}"
    )
    if password is not None:
        typer.echo("admin password set")
    if made_token is not None:
        typer.echo(f"PBX token (shown once; give it to the PBX as Token): {made_token}")


async def _save_enterprise(
    settings: Settings,
    *,
    number: str,
    name: str,
    token: str | None,
    active: bool,
    time_zone: str | None,
    password: str | None,
) -> bool:
    """Whether the enterprise was created (else changed); one transaction."""
    from switchboard.domains import open_runtime
    from switchboard.telephony.admin import service

    async with (
        open_runtime(settings) as runtime,
        _migrated(),
        runtime.database.transaction() as session,
    ):
        created = await service.enterprise(session, number) is None
        if created and token is None:
            _refuse(f"enterprise {number} is new: it needs a PBX token (--new-token or --token)")
        await service.save_enterprise(
            session,
            runtime.bus,
            number=number,
            name=name,
            token=token,
            active=active,
            time_zone=time_zone,
        )
        if password is not None:
            await service.set_admin_password(session, number=number, password=password)
    return created


@app.command("telephony-phones")
def telephony_phones(
    number: Annotated[str, typer.Argument(help="The enterprise's number.")],
    phones: Annotated[
        list[str],
        typer.Argument(
            help="Its internal numbers, each NUMBER or NUMBER=NAME (who uses it), "
            "e.g. 150='Джулай Джуновый' 151."
        ),
    ],
) -> None:
    """Set an enterprise's internal numbers (the list replaces the old one). The admin page
    offers them to RetailCRM's managers."""
    import re

    _checked_enterprise_number(number)
    parsed: list[tuple[str, str | None]] = []
    for item in phones:
        extension, _, user_name = item.partition("=")
        extension = extension.strip()
        if not re.match(_EXTENSION, extension):
            _refuse(f"internal number {extension!r}: 1-10 digits (NUMBER or NUMBER=NAME)")
        if extension in {known for known, _ in parsed}:
            _refuse(f"internal number {extension} is given twice")
        parsed.append((extension, user_name.strip() or None))
    settings = _settings()
    orphaned = asyncio.run(_save_phones(settings, number, parsed))
    typer.echo(f"enterprise {number}: {len(parsed)} internal numbers")
    for user, extension in sorted(orphaned.items()):
        typer.echo(
            f"warning: RetailCRM user {user} still has number {extension}, which the enterprise "
            "no longer has; give them another on the admin page",
            err=True,
        )


async def _save_phones(
    settings: Settings, number: str, phones: list[tuple[str, str | None]]
) -> dict[str, str]:
    """RetailCRM users whose number is no longer among `phones` (user → number)."""
    from switchboard.domains import open_runtime
    from switchboard.telephony.admin import service

    async with (
        open_runtime(settings) as runtime,
        _migrated(),
        runtime.database.transaction() as session,
    ):
        row = await service.enterprise(session, number)
        if row is None:
            _refuse(f"no enterprise {number} (create it with telephony-enterprise)")
        await service.set_internal_phones(session, number=number, phones=phones)
        retailcrm = (row.integrations_config or {}).get(service.RETAILCRM) or {}
    kept = {extension for extension, _ in phones}
    return {
        str(user): str(extension)
        for user, extension in (retailcrm.get("user_extensions") or {}).items()
        if extension and str(extension) not in kept
    }


@app.command("messenger-staff")
def messenger_staff(
    login: Annotated[str, typer.Argument(help="The staff member's login (an e-mail).")],
    *,
    name: Annotated[str, typer.Option(help="Their name, as operators and visitors see it.")],
    role: Annotated[str, typer.Option(help="operator, supervisor or admin.")],
    branch: Annotated[
        str | None,
        typer.Option(help="The code of their branch (a change without it keeps the branch)."),
    ] = None,
    capacity: Annotated[
        int | None,
        typer.Option(
            help="Conversations routing gives them at most at a time (new accounts: 5; "
            "a change without it keeps it)."
        ),
    ] = None,
    password_prompt: Annotated[
        bool,
        typer.Option(
            "--password-prompt",
            help="Ask for their password (twice, not shown; kept as an argon2 hash).",
        ),
    ] = False,
) -> None:
    """Create or change a messenger staff account (an operator, supervisor or administrator),
    in one transaction. Without --password-prompt a new account cannot log in yet."""
    from switchboard.messenger.models import STAFF_ROLES

    if role not in STAFF_ROLES:
        _refuse(f"--role {role!r}: one of {', '.join(STAFF_ROLES)}")
    if not name.strip():
        _refuse("--name is empty")
    if capacity is not None and not 0 <= capacity <= 1000:
        _refuse("--capacity: a whole number from 0 to 1000")
    password = _staff_password() if password_prompt else None
    created, line = asyncio.run(
        _save_staff(
            _settings(),
            login=login,
            name=name,
            role=role,
            branch=branch,
            capacity=capacity,
            password=password,
        )
    )
    typer.echo(f"staff {line} {'created' if created else 'changed'}")
    if password is not None:
        typer.echo("password set")
    elif created:
        typer.echo("no password yet: set one with --password-prompt to let them log in")


def _staff_password() -> str:
    from switchboard.messenger.accounts.service import MAX_PASSWORD, MIN_PASSWORD

    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        _refuse(f"the password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


async def _save_staff(
    settings: Settings,
    *,
    login: str,
    name: str,
    role: str,
    branch: str | None,
    capacity: int | None,
    password: str | None,
) -> tuple[bool, str]:
    """(whether the account was created, a line describing it); one transaction."""
    import psycopg
    from sqlalchemy.exc import ProgrammingError

    from switchboard.core.errors import ApiError
    from switchboard.core.i18n import translate
    from switchboard.domains import open_runtime
    from switchboard.messenger.accounts.service import Passwords, save_staff

    hashed = Passwords().hash_now(password) if password is not None else None
    try:
        async with open_runtime(settings) as runtime, runtime.database.transaction() as session:
            staff, created = await save_staff(
                session,
                login=login,
                name=name,
                role=role,
                branch_code=branch,
                capacity=capacity,
                password_hash=hashed,
            )
    except ApiError as error:
        _refuse(translate(error.message, "en", **error.params))
    except ProgrammingError as error:
        if not isinstance(error.orig, psycopg.errors.UndefinedTable):
            raise
        _refuse("the database has no messenger tables yet; run `switchboard migrate` first")
    where = f", branch {staff.branch_code}" if staff.branch_code else ""
    return created, (
        f"{staff.login} ({staff.name}): {staff.role}{where}, capacity {staff.capacity}"
    )


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="1C OData on this port, Chatwoot on the next.")] = 8001,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    empty: Annotated[bool, typer.Option(help="Start without the demo data set.")] = False,
) -> None:
    """Run the emulators of the external systems alone (1C:ЦЛ OData, Chatwoot, RetailCRM,
    Telegram Bot API on the next ports, Asterisk AMI after them)."""
    _refuse_in_production("sandbox")
    _require_sandbox_extra("sandbox")
    from switchboard.sandbox.runner import run_sandbox_forever

    _settings()
    asyncio.run(run_sandbox_forever(host=host, port=port, demo_data=not empty))


@app.command()
def etl(
    job: Annotated[
        str,
        typer.Argument(
            help="The job, e.g. load_dicts or pull_cons_cl (an unknown name lists them)."
        ),
    ],
    queue: Annotated[
        bool, typer.Option(help="Queue it for a worker instead of running it here.")
    ] = False,
    wait: Annotated[
        bool, typer.Option(help="If a copy is running elsewhere, wait for it instead of failing.")
    ] = False,
) -> None:
    """Run one ETL job now, in the foreground, and print what it did. It takes the same
    cluster-wide lock as a worker's copy: when a copy is running, it says so (exit code 3)."""
    from switchboard.domains import etl_jobs

    known = etl_jobs()
    if job not in known:
        typer.echo(f"switchboard: unknown ETL job {job!r}; known: {', '.join(known)}", err=True)
        raise typer.Exit(2)
    from switchboard.core.http.errors import IntegrationError
    from switchboard.core.jobs import AlreadyRunning

    settings = _settings()
    try:
        with _etl_progress(job, shown=sys.stderr.isatty() and not queue):
            result = asyncio.run(_run_etl(settings, job, queue=queue, wait=wait))
    except AlreadyRunning:
        typer.echo(
            f"switchboard: etl {job} not started: a copy is already running "
            "(in a worker or another terminal); try again later or pass --wait",
            err=True,
        )
        raise typer.Exit(3) from None
    except IntegrationError as exc:
        hint = " (a worker would retry it later)" if exc.retriable else ""
        typer.echo(f"switchboard: etl {job} failed: {exc}{hint}", err=True)
        raise typer.Exit(1) from None
    typer.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


@contextmanager
def _etl_progress(job: str, *, shown: bool) -> Iterator[None]:
    """A progress bar of the rows an ETL run has processed, when a person watches a terminal."""
    if not shown:
        yield
        return
    from rich.progress import (
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from switchboard.core.jobs import progress_to

    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(f"etl {job}", total=None)

        def advance(rows: int, entity: str | None) -> None:
            description = f"etl {job}" + (f" · {entity}" if entity else "")
            bar.update(task, advance=rows, description=description)

        with progress_to(advance):
            yield


async def _run_etl(settings: Settings, name: str, *, queue: bool, wait: bool) -> Any:
    from switchboard.core.db.migrate import upgrade_async
    from switchboard.core.jobs import defer_unless_queued
    from switchboard.domains import etl_jobs, open_runtime

    job = etl_jobs()[name]
    async with open_runtime(settings) as runtime:
        await upgrade_async(runtime.database.url)
        if queue:
            queued = await defer_unless_queued(runtime.jobs, job.task)
            return {"queued": queued, "note": None if queued else "a copy is already waiting"}
        return await job.run(runtime, wait=wait)


def main() -> None:
    app()
