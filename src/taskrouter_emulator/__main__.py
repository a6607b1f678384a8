"""Command line: `taskrouter-emulator serve|migrate` (also `python -m taskrouter_emulator`)."""

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
        "--workers",
        type=int,
        default=1,
        help="server processes (PostgreSQL only: SQLite allows one writer process)",
    )
    migrate = sub.add_parser("migrate", help="apply database migrations and exit")
    migrate.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = _settings(args)
    if args.command == "migrate":
        upgrade(settings.database_url)
        return 0

    import uvicorn

    from taskrouter_emulator.app import create_app
    from taskrouter_emulator.db.engine import is_sqlite

    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.workers == 1:
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level)
        return 0
    if is_sqlite(settings.database_url):
        parser.error(
            "--workers > 1 needs PostgreSQL: SQLite allows one writer process "
            "(use --database-url postgresql+psycopg://...)"
        )
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


if __name__ == "__main__":
    sys.exit(main())
