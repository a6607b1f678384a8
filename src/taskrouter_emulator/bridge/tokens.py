"""Verify the tokens the twilio-taskrouter.js Worker sends: AccessTokens and legacy capability tokens.

- AccessToken (`iss` = an `SK…` API key, `sub` = the account, `grants.task_router`), signed with the
  API key's secret. API keys belong to the configured account (as for REST Basic auth, auth.py); the
  secret is the configured auth token in strict mode, or in zero-config mode the secret the key was
  first used with on the REST API (a JWT cannot introduce a secret: its signature needs it).
- Legacy `WorkerCapabilityToken` (`iss` = the `AC…` account, `workspace_sid`, `worker_sid`), signed
  with the account's auth token. Its `policies` are enforced on every bridge call (the point of a
  capability token): a matching deny wins, `/**` covers a path and everything below it, and
  `post_filter`/`query_filter` entries marked `required` must be sent ([INF] on the details).

Expiry is checked against the wall clock, not the emulated clock: tokens are minted with real time.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskrouter_emulator.config import Settings
from taskrouter_emulator.errors import TwilioError
from taskrouter_emulator.models import Account
from taskrouter_emulator.sids import Prefix, is_sid


class InvalidToken(TwilioError):
    """The token is malformed, wrongly signed, or names no worker (Twilio 20101)."""

    status = 401
    code = 20101


class ExpiredToken(TwilioError):
    """The token's `exp` has passed or `nbf` is still ahead (Twilio 20104)."""

    status = 401
    code = 20104


@dataclass(frozen=True)
class Policy:
    """One policy of a legacy capability token: a method on a URL path, with required parameters."""

    path: str
    method: str
    allow: bool
    required_query: frozenset[str]
    required_post: frozenset[str]

    def matches(self, method: str, path: str) -> bool:
        """Whether the policy speaks about this call (`/**` covers the path and all below it)."""
        if self.method != method.upper():
            return False
        if self.path.endswith("/**"):
            base = self.path[:-3]
            return path == base or path.startswith(base + "/")
        return path == self.path

    def grants(self, method: str, path: str, params: Mapping[str, object]) -> bool:
        """Whether the call is allowed by this policy, its required parameters included."""
        required = self.required_post if method.upper() == "POST" else self.required_query
        return self.allow and self.matches(method, path) and required <= set(params)


@dataclass(frozen=True)
class WorkerIdentity:
    """Who a verified token speaks for, until when, and (legacy tokens) under which policies."""

    account_sid: str
    workspace_sid: str
    worker_sid: str
    expires_at: datetime
    # None for AccessTokens: the worker role reaches its own worker and the workspace's tasks.
    policies: tuple[Policy, ...] | None = None

    def permits(self, method: str, path: str, params: Mapping[str, object]) -> bool:
        """Whether a legacy token's policies allow a call (a matching deny policy wins)."""
        if self.policies is None:
            return True
        matching = [p for p in self.policies if p.matches(method, path)]
        if any(not p.allow for p in matching):
            return False
        return any(p.grants(method, path, params) for p in matching)


def _path_of(url: str) -> str:
    """The path of a policy URL, without host and API version: `Workspaces/WS…/Workers/WK…`."""
    path = urlsplit(url).path.strip("/")
    return path.removeprefix("v1/")


def _required(filters: object) -> frozenset[str]:
    if not isinstance(filters, dict):
        return frozenset()
    return frozenset(
        name
        for name, rule in filters.items()
        if isinstance(rule, dict) and rule.get("required") is True
    )


def _policies(claims: dict[str, Any]) -> tuple[Policy, ...]:
    raw = claims.get("policies")
    if not isinstance(raw, list):
        raise InvalidToken("Invalid Access Token: a capability token needs a 'policies' list")
    policies = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise InvalidToken("Invalid Access Token: malformed policy")
        policies.append(
            Policy(
                path=_path_of(item["url"]),
                method=str(item.get("method", "GET")).upper(),
                allow=item.get("allow") is True,
                required_query=_required(item.get("query_filter")),
                required_post=_required(item.get("post_filter")),
            )
        )
    return tuple(policies)


def _claims_unverified(token: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise InvalidToken("Invalid Access Token: not a JWT") from None
    if not isinstance(claims, dict):
        raise InvalidToken("Invalid Access Token: the payload is not an object")
    return claims


def _api_key_secret(session: Session, settings: Settings, key_sid: str) -> str | None:
    if settings.auth_token is not None:
        return settings.auth_token
    return session.scalars(select(Account.auth_token).where(Account.username == key_sid)).first()


def _account_token(session: Session, settings: Settings, account_sid: str) -> str | None:
    if settings.auth_token is not None:
        return settings.auth_token if account_sid == settings.account_sid else None
    return session.scalars(
        select(Account.auth_token).where(Account.username == account_sid)
    ).first()


def _verified(token: str, secret: str | None) -> dict[str, Any]:
    if secret is None:
        raise InvalidToken("Invalid Access Token: the signing key is not known to the emulator")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"Invalid Access Token: {exc}") from None
    return claims


def _moment(claims: dict[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"Invalid Access Token: '{name}' is not a number")
    return datetime.fromtimestamp(value, tz=UTC)


def _sid(value: object, prefix: Prefix, name: str) -> str:
    if not isinstance(value, str) or not is_sid(value, prefix):
        raise InvalidToken(f"Invalid Access Token: '{name}' is missing or not a {prefix.value} SID")
    return value


def verify(token: str, *, session: Session, settings: Settings, now: datetime) -> WorkerIdentity:
    """Check a Worker token's signature, expiry and claims; return the worker it speaks for."""
    claims = _claims_unverified(token)
    issuer = claims.get("iss")
    policies: tuple[Policy, ...] | None
    if isinstance(issuer, str) and is_sid(issuer, Prefix.API_KEY):
        claims = _verified(token, _api_key_secret(session, settings, issuer))
        account_sid = _sid(claims.get("sub"), Prefix.ACCOUNT, "sub")
        if not hmac.compare_digest(account_sid, settings.account_sid):
            raise InvalidToken(
                f"Invalid Access Token: API key {issuer} does not belong to account {account_sid}"
            )
        grants = claims.get("grants")
        grant = grants.get("task_router") if isinstance(grants, dict) else None
        if not isinstance(grant, dict):
            raise InvalidToken("Invalid Access Token: it has no TaskRouter grant")
        workspace_sid = _sid(grant.get("workspace_sid"), Prefix.WORKSPACE, "workspace_sid")
        worker_sid = _sid(grant.get("worker_sid"), Prefix.WORKER, "worker_sid")
        policies = None
    elif isinstance(issuer, str) and is_sid(issuer, Prefix.ACCOUNT):
        claims = _verified(token, _account_token(session, settings, issuer))
        account_sid = issuer
        if claims.get("account_sid", issuer) != issuer:
            raise InvalidToken("Invalid Access Token: 'account_sid' differs from 'iss'")
        workspace_sid = _sid(claims.get("workspace_sid"), Prefix.WORKSPACE, "workspace_sid")
        worker_sid = _sid(
            claims.get("worker_sid", claims.get("channel")), Prefix.WORKER, "worker_sid"
        )
        policies = _policies(claims)
    else:
        raise InvalidToken("Invalid Access Token: 'iss' must be an API key or Account SID")
    expires_at = _moment(claims, "exp")
    if expires_at is None:
        raise InvalidToken("Invalid Access Token: it has no 'exp'")
    if expires_at <= now:
        raise ExpiredToken("Access Token expired or expiration date invalid")
    not_before = _moment(claims, "nbf")
    if not_before is not None and not_before > now:
        raise ExpiredToken("Access Token is not valid yet ('nbf' is in the future)")
    return WorkerIdentity(
        account_sid=account_sid,
        workspace_sid=workspace_sid,
        worker_sid=worker_sid,
        expires_at=expires_at,
        policies=policies,
    )
