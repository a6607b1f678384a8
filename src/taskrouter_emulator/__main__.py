"""Command line: `taskrouter-emulator serve|migrate|snapshot|twilio-cli-hook` (also `python -m taskrouter_emulator`)."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from typing import TYPE_CHECKING

from taskrouter_emulator import __version__

if TYPE_CHECKING:
    from fastapi import FastAPI

    from taskrouter_emulator.config import Settings

# Shown in the banner as an example: any AC + 32 hex SID works in zero-config mode.
EXAMPLE_ACCOUNT_SID = "AC00000000000000000000000000000001"
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def _settings(args: argparse.Namespace) -> Settings:
    from taskrouter_emulator.config import Settings

    overrides = {"database_url": args.database_url} if args.database_url else {}
    return Settings(**overrides)


def base_url(settings: Settings, host: str, port: int) -> str:
    """Return the URL clients should use: the public URL if set, else the listen address."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    shown = "localhost" if host in WILDCARD_HOSTS else host
    if ":" in shown:  # an IPv6 literal
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def cli_hook_path() -> str:
    """Return the path of the twilio-cli preload hook shipped with the package."""
    return str(files("taskrouter_emulator").joinpath("twilio_cli_hook.js"))


def startup_banner(settings: Settings, host: str, port: int) -> str:
    """Return the lines printed once the server listens: URL, credentials, where to look next."""
    from sqlalchemy.engine import make_url

    url = base_url(settings, host, port)
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    if settings.auth_token is None:
        credentials = [
            'any Account SID ("AC" + 32 hex digits) with any non-empty token; the first token',
            "used binds that SID. For example:",
            f"TWILIO_ACCOUNT_SID={EXAMPLE_ACCOUNT_SID} TWILIO_AUTH_TOKEN=any-token",
        ]
    else:
        credentials = [
            f"strict mode: Account SID {settings.account_sid} with the token in",
            "TASKROUTER_AUTH_TOKEN (or an SK… API key whose secret is that token)",
        ]
    listening = "" if host not in WILDCARD_HOSTS else f" (listening on all interfaces, port {port})"
    lines = [
        "",
        f"TaskRouter emulator {__version__} is ready at {url}{listening}",
        f"  Credentials  {credentials[0]}",
        *(f"               {line}" for line in credentials[1:]),
        f'  Python       client.taskrouter.base_url = "{url}"',
        f'  Node         client.taskrouter.baseUrl = "{url}"',
        f'  twilio-cli   NODE_OPTIONS="--require {cli_hook_path()}" TASKROUTER_BASE_URL={url} twilio …',
        f"  Inspector    {url}/emulator/ui",
        f"  API docs     {url}/emulator/docs",
        f"  Clock        per account, new ones {settings.clock} (POST {url}/emulator/clock Advance=<s>)",
        f"  Database     {database}",
        "",
    ]
    return "\n".join(lines) + "\n"


def serve(app: FastAPI, *, host: str, port: int, log_level: str, banner: str) -> None:
    """Run uvicorn and print `banner` once the socket is bound (not before: the port may be taken)."""
    import socket

    import uvicorn

    from taskrouter_emulator.config import KEEP_ALIVE_SECONDS

    class AnnouncingServer(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            gc.freeze()  # what start-up made is there to stay (see `_serve`)
            gc.enable()
            if self.started and not self.should_exit:
                sys.stdout.write(banner)
                sys.stdout.flush()

    AnnouncingServer(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=log_level,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
    ).run()


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    parser = argparse.ArgumentParser(
        prog="taskrouter-emulator", description="A local Twilio TaskRouter emulator"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve_cmd = sub.add_parser("serve", help="migrate the database and serve the API")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8080)
    serve_cmd.add_argument(
        "--database-url",
        default=None,
        help="default: $TASKROUTER_DATABASE_URL or sqlite:///./taskrouter.db",
    )
    serve_cmd.add_argument("--log-level", default="info")
    serve_cmd.add_argument(
        "--seed",
        action="append",
        default=[],
        metavar="FILE",
        help="load a YAML/JSON seed file before serving (repeatable; idempotent)",
    )
    serve_cmd.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (PostgreSQL only: SQLite allows one writer process)",
    )
    migrate = sub.add_parser("migrate", help="apply database migrations and exit")
    migrate.add_argument("--database-url", default=None)
    snapshot = sub.add_parser("snapshot", help="export or import an account's state as JSON")
    snapshot.add_argument("action", choices=("export", "import"))
    snapshot.add_argument("file", nargs="?", default="-", help="output/input file (default: -)")
    snapshot.add_argument("--database-url", default=None)
    snapshot.add_argument("--account-sid", default=None, help="default: $TASKROUTER_ACCOUNT_SID")
    snapshot.add_argument("--workspace-sid", default=None, help="export one workspace only")
    sub.add_parser(
        "twilio-cli-hook",
        help="print the path of the twilio-cli preload hook (NODE_OPTIONS=--require <path>)",
    )
    args = parser.parse_args(argv)

    if args.command == "twilio-cli-hook":
        sys.stdout.write(f"{cli_hook_path()}\n")
        return 0

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "serve":
        return _serve(args, parser)
    settings = _settings(args)
    if args.command == "migrate":
        from taskrouter_emulator.db.migrate import upgrade

        upgrade(settings.database_url)
        return 0
    return _snapshot(args, settings)


@contextmanager
def _collector_off() -> Iterator[None]:
    """Keep the cyclic garbage collector off for the block (start-up, see `_serve`)."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Migrate, seed, then serve in this process (or supervise `--workers` server processes).

    Start-up makes some 100,000 objects that live as long as the server (modules, classes, schemas,
    routes), and the cyclic garbage collector would walk them again and again while they are made
    (about a tenth of the time to the first answer). It is off while the libraries and the app
    are imported and built, on while the migration and the seeding run (they leave garbage behind);
    once the server listens, `serve` moves what start-up made out of its sight for good (gc.freeze).
    """
    with _collector_off():
        from taskrouter_emulator.config import KEEP_ALIVE_SECONDS
        from taskrouter_emulator.db.engine import is_sqlite
        from taskrouter_emulator.db.migrate import upgrade

        settings = _settings(args)
    if args.log_level != "debug":
        # One line per applied migration, or per webhook sent, is noise; the banner says what matters.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.workers > 1 and is_sqlite(settings.database_url):
        parser.error(
            "--workers > 1 needs PostgreSQL: SQLite allows one writer process "
            "(use --database-url postgresql+psycopg://...)"
        )
    upgrade(settings.database_url)
    if args.seed:
        from taskrouter_emulator.emulator_tools import cli

        try:
            cli.seed_database(settings, args.seed)
        except cli.ToolError as exc:
            sys.stderr.write(f"taskrouter-emulator: seed file {exc}\n")
            return 2
    banner = startup_banner(settings, args.host, args.port)
    if args.workers == 1:
        with _collector_off():
            from taskrouter_emulator.app import create_app

            serve(
                create_app(settings.model_copy(update={"run_migrations": False})),
                host=args.host,
                port=args.port,
                log_level=args.log_level,
                banner=banner,
            )
        return 0
    # Every worker process builds its app from the same environment (this supervisor never
    # imports the app: it only starts and watches the workers).
    os.environ["TASKROUTER_DATABASE_URL"] = settings.database_url
    import uvicorn

    sys.stdout.write(banner)
    uvicorn.run(
        "taskrouter_emulator.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        workers=args.workers,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    return 0


def _snapshot(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from taskrouter_emulator.clock import EmulatorClock
    from taskrouter_emulator.config import LifecycleConfig
    from taskrouter_emulator.db.engine import make_engine
    from taskrouter_emulator.db.migrate import upgrade
    from taskrouter_emulator.db.session import make_sessionmaker
    from taskrouter_emulator.emulator_tools import cli

    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine, config=LifecycleConfig.from_settings(settings))
    try:
        if args.action == "export":
            document = cli.export_snapshot(
                factory,
                EmulatorClock(),
                account_sid=args.account_sid or settings.account_sid,
                workspace_sid=args.workspace_sid,
            )
            text = json.dumps(document, indent=1)
            if args.file == "-":
                sys.stdout.write(text + "\n")
            else:
                with open(args.file, "w", encoding="utf-8") as out:
                    out.write(text + "\n")
        else:
            summary = cli.import_snapshot(factory, path=args.file, account_sid=args.account_sid)
            sys.stderr.write(json.dumps(summary) + "\n")
    except cli.ToolError as exc:
        sys.stderr.write(f"taskrouter-emulator: {exc}\n")
        return 2
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
