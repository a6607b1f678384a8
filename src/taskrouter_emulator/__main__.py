"""Command line: `taskrouter-emulator serve|migrate|snapshot` (also `python -m taskrouter_emulator`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from taskrouter_emulator.config import Settings
from taskrouter_emulator.db.migrate import upgrade


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"database_url": args.database_url} if args.database_url else {}
    return Settings(**overrides)


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    parser = argparse.ArgumentParser(
        prog="taskrouter-emulator", description="A local Twilio TaskRouter emulator"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate the database and serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--database-url",
        default=None,
        help="default: $TASKROUTER_DATABASE_URL or sqlite:///./taskrouter.db",
    )
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--seed",
        action="append",
        default=[],
        metavar="FILE",
        help="load a YAML/JSON seed file before serving (repeatable; idempotent)",
    )
    serve.add_argument(
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
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = _settings(args)
    if args.command == "migrate":
        upgrade(settings.database_url)
        return 0

    if args.command == "snapshot":
        return _snapshot(args, settings)

    import uvicorn

    from taskrouter_emulator.app import create_app
    from taskrouter_emulator.db.engine import is_sqlite
    from taskrouter_emulator.emulator_tools import cli

    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.workers > 1 and is_sqlite(settings.database_url):
        parser.error(
            "--workers > 1 needs PostgreSQL: SQLite allows one writer process "
            "(use --database-url postgresql+psycopg://...)"
        )
    if args.seed:
        try:
            cli.seed_database(settings, args.seed)
        except cli.ToolError as exc:
            sys.stderr.write(f"taskrouter-emulator: seed file {exc}\n")
            return 2
    if args.workers == 1:
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level)
        return 0
    # Migrate once here; every worker process builds its app from the same environment.
    upgrade(settings.database_url)
    os.environ["TASKROUTER_DATABASE_URL"] = settings.database_url
    uvicorn.run(
        "taskrouter_emulator.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        workers=args.workers,
    )
    return 0


def _snapshot(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from taskrouter_emulator.clock import EmulatorClock
    from taskrouter_emulator.db.engine import make_engine
    from taskrouter_emulator.db.session import make_sessionmaker
    from taskrouter_emulator.emulator_tools import cli

    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
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
