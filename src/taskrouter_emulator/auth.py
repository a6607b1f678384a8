"""HTTP Basic authentication and per-account isolation.

Zero-config mode (no TASKROUTER_AUTH_TOKEN): any `AC…` SID with a non-empty token is accepted, and the
first token seen for a SID becomes that account's token. `SK…` API keys map to the configured account.
Strict mode: only the configured account SID and token (or an `SK…` key with that token) are accepted.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import threading

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from taskrouter_emulator.clocks import Clocks
from taskrouter_emulator.config import Settings
from taskrouter_emulator.db.session import unit_of_work
from taskrouter_emulator.errors import AuthenticationFailed
from taskrouter_emulator.models import Account
from taskrouter_emulator.sids import Prefix, is_sid


def parse_basic(header: str | None) -> tuple[str, str]:
    """Return (username, password) from a Basic Authorization header or fail with 401."""
    if not header or not header.lower().startswith("basic "):
        raise AuthenticationFailed("Authentication required: send HTTP Basic credentials")
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationFailed("Malformed Authorization header") from None
    if "\x00" in decoded:
        raise AuthenticationFailed("Malformed Authorization header")
    username, sep, password = decoded.partition(":")
    if not sep or not username or not password:
        raise AuthenticationFailed(
            "Authentication required: username and password must not be empty"
        )
    return username, password


class Authenticator:
    """Checks credentials and remembers the token bound to each account."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session], clocks: Clocks) -> None:
        self._settings = settings
        self._factory = factory
        self._clocks = clocks
        self._known: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    async def authenticate(self, header: str | None) -> str:
        """`account_for` from the event loop: a thread only when the account's token must be read."""
        account_sid = self.account_for(header, read_database=False)
        if account_sid is None:
            account_sid = await anyio.to_thread.run_sync(self.account_for, header)
        assert account_sid is not None
        return account_sid

    def account_for(self, header: str | None, *, read_database: bool = True) -> str | None:
        """Return the account SID the credentials belong to, or raise 401.

        With `read_database=False`, return None instead of reading (or binding) a token that this
        process has not seen yet.
        """
        username, password = parse_basic(header)
        is_key = is_sid(username, Prefix.API_KEY)
        if not (is_sid(username, Prefix.ACCOUNT) or is_key):
            raise AuthenticationFailed("Authentication Error - invalid username")
        settings = self._settings
        if settings.auth_token is not None:
            if (is_key or username == settings.account_sid) and hmac.compare_digest(
                password, settings.auth_token
            ):
                return settings.account_sid
            raise AuthenticationFailed("Authentication Error - invalid username or auth token")
        account_sid = settings.account_sid if is_key else username
        token = self._bound_token(username, account_sid, password, read_database=read_database)
        if token is None:
            return None
        if not hmac.compare_digest(token, password):
            raise AuthenticationFailed(
                "Authentication Error - the auth token does not match this account"
            )
        return account_sid

    def token_of(self, account_sid: str) -> str | None:
        """Return the auth token used to sign webhooks for an account."""
        if self._settings.auth_token is not None:
            return self._settings.auth_token
        with self._lock:
            for account_sid_known, token in self._known.values():
                if account_sid_known == account_sid:
                    return token
        with self._factory() as session:
            account = session.get(Account, account_sid)
            return account.auth_token if account else None

    def tokens_of(self, session: Session, account_sids: set[str]) -> dict[str, str]:
        """Return the auth tokens that sign webhooks for these accounts, read with `session`."""
        if self._settings.auth_token is not None:
            return dict.fromkeys(account_sids, self._settings.auth_token)
        found: dict[str, str] = {}
        with self._lock:
            for account_sid_known, token in self._known.values():
                if account_sid_known in account_sids:
                    found.setdefault(account_sid_known, token)
        missing = account_sids - set(found)
        if missing:
            rows = session.execute(
                select(Account.username, Account.auth_token).where(Account.username.in_(missing))
            )
            found.update({str(row.username): str(row.auth_token) for row in rows})
        return found

    def _bound_token(
        self, username: str, account_sid: str, password: str, *, read_database: bool
    ) -> str | None:
        with self._lock:
            cached = self._known.get(username)
        if cached is not None:
            return cached[1]
        if not read_database:
            return None
        with unit_of_work(self._factory) as session:
            dialect = session.get_bind().dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            # First token wins, even when two first requests race.
            session.execute(
                insert(Account)
                .values(
                    username=username,
                    account_sid=account_sid,
                    auth_token=password,
                    date_created=self._clocks.base.now(),
                )
                .on_conflict_do_nothing(index_elements=["username"])
            )
            # The account's clock starts when the account is first seen (frozen there by default
            # with TASKROUTER_CLOCK=frozen).
            self._clocks.ensure(session, account_sid)
            token = session.scalars(
                select(Account.auth_token).where(Account.username == username)
            ).one()
        with self._lock:
            self._known[username] = (account_sid, token)
        return token
