"""Mint the tokens the twilio-taskrouter.js Worker uses, with the official twilio-python helpers.

- `worker_access_token`: an AccessToken with a TaskRouterGrant, signed with an API key's secret.
  The emulator knows a key's secret once the key has been used on the REST API (zero-config mode),
  or it is the configured auth token (strict mode); `register_api_key` makes that first use.
- `worker_capability_token`: the legacy WorkerCapabilityToken, signed with the account's auth token.
"""

from __future__ import annotations

import uuid

import httpx
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import TaskRouterGrant
from twilio.jwt.taskrouter.capabilities import WorkerCapabilityToken


def new_api_key() -> tuple[str, str]:
    """A fresh API key SID and secret."""
    return f"SK{uuid.uuid4().hex}", uuid.uuid4().hex


def register_api_key(base_url: str, key_sid: str, secret: str) -> None:
    """Use the key once on the REST API so the emulator binds its secret."""
    response = httpx.get(f"{base_url}/v1/Workspaces", auth=(key_sid, secret), timeout=30)
    response.raise_for_status()


def worker_access_token(
    *,
    account_sid: str,
    key_sid: str,
    secret: str,
    workspace_sid: str,
    worker_sid: str,
    ttl: int = 3600,
    identity: str = "agent",
) -> str:
    """An AccessToken for one Worker (the token a Flex or agent app fetches from its backend)."""
    token = AccessToken(account_sid, key_sid, secret, identity=identity, ttl=ttl)
    token.add_grant(
        TaskRouterGrant(workspace_sid=workspace_sid, worker_sid=worker_sid, role="worker")
    )
    return str(token.to_jwt())


def worker_capability_token(
    *, account_sid: str, auth_token: str, workspace_sid: str, worker_sid: str, ttl: int = 3600
) -> str:
    """A legacy worker capability token."""
    capability = WorkerCapabilityToken(
        account_sid=account_sid,
        auth_token=auth_token,
        workspace_sid=workspace_sid,
        worker_sid=worker_sid,
        ttl=ttl,
    )
    # What the Worker SDK reads at start-up (its channels are under the worker), activity changes and
    # reservation/task updates; attribute updates are not granted (the activity policy requires
    # ActivitySid), as with Twilio's defaults.
    capability.allow_fetch_subresources()
    capability.allow_update_activities()
    capability.allow_update_reservations()
    return str(capability.to_jwt())
