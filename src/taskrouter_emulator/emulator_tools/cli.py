"""Command-line side of the emulator tools: `serve --seed FILE` and `snapshot export|import`.

Both work on the database directly (no server needed), in one transaction each.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from taskrouter_emulator.clock import Clock, EmulatorClock
from taskrouter_emulator.clocks import Clocks
from taskrouter_emulator.config import LifecycleConfig, Settings
from taskrouter_emulator.db.engine import make_engine
from taskrouter_emulator.db.migrate import upgrade
from taskrouter_emulator.db.session import make_sessionmaker, unit_of_work
from taskrouter_emulator.emulator_tools.seeding import service as seed_service
from taskrouter_emulator.emulator_tools.seeding.document import parse_seed
from taskrouter_emulator.emulator_tools.snapshots import service as snapshot_service
from taskrouter_emulator.errors import TwilioError
from taskrouter_emulator.sids import Prefix, is_sid
from taskrouter_emulator.workspaces import service as workspace_service

logger = logging.getLogger(__name__)


class ToolError(Exception):
    """A command failed; the message says why."""


def _read(path: str) -> str:
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ToolError(f"cannot read {path}: {exc}") from None


def load_seed_file(
    factory: sessionmaker[Session], clocks: Clocks, *, path: str, default_account_sid: str
) -> dict[str, Any]:
    """Apply a seed file to its `account_sid` (or the default account); return the outcome."""
    try:
        seed_file = parse_seed(_read(path))
        account_sid = seed_file.document.account_sid or default_account_sid
        if not is_sid(account_sid, Prefix.ACCOUNT):
            raise ToolError(f"{path}: account_sid {account_sid} is not an Account SID")
        with unit_of_work(factory) as session:
            clocks.ensure(session, account_sid)
            clock = clocks.time_of(session, account_sid)
            outcome = seed_service.apply_seed(
                session, clock=clock, account_sid=account_sid, seed=seed_file
            )
            return seed_service.render(outcome)
    except TwilioError as exc:
        raise ToolError(f"{path}: {exc.message}") from None


def seed_database(settings: Settings, paths: Sequence[str]) -> None:
    """Migrate the database and load each seed file (before `serve` starts its processes)."""
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        factory = make_sessionmaker(engine, config=LifecycleConfig.from_settings(settings))
        clocks = Clocks(EmulatorClock(), default_frozen=settings.clock == "frozen")
        for path in paths:
            outcome = load_seed_file(
                factory, clocks, path=path, default_account_sid=settings.account_sid
            )
            logger.info(
                "seeded %s into %s: created %s", path, outcome["account_sid"], outcome["created"]
            )
    finally:
        engine.dispose()


def export_snapshot(
    factory: sessionmaker[Session],
    clock: Clock,
    *,
    account_sid: str,
    workspace_sid: str | None,
) -> dict[str, Any]:
    """Return the snapshot document of an account (or one of its workspaces)."""
    try:
        with unit_of_work(factory) as session:
            if workspace_sid is not None:
                workspace_service.get(session, account_sid=account_sid, sid=workspace_sid)
            return snapshot_service.export(
                session, clock=clock, account_sid=account_sid, workspace_sid=workspace_sid
            )
    except TwilioError as exc:
        raise ToolError(exc.message) from None


def import_snapshot(
    factory: sessionmaker[Session], *, path: str, account_sid: str | None
) -> dict[str, Any]:
    """Import a snapshot file into `account_sid` (default: the account it was exported from)."""
    try:
        document = json.loads(_read(path))
    except json.JSONDecodeError as exc:
        raise ToolError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(document, dict):
        raise ToolError(f"{path}: the snapshot must be a JSON object")
    target = account_sid or document.get("account_sid")
    if not isinstance(target, str) or not is_sid(target, Prefix.ACCOUNT):
        raise ToolError(f"{path}: give --account-sid (the document names no valid account)")
    try:
        with unit_of_work(factory) as session:
            return snapshot_service.import_document(session, account_sid=target, document=document)
    except TwilioError as exc:
        raise ToolError(f"{path}: {exc.message}") from None
