"""Helpers for the event-bridge tests: a workspace with a worker and a token, frames, bridge REST calls."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from twilio.rest import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from taskrouter_emulator.testing import LiveServer
from tests.bridge_tokens import new_api_key, register_api_key, worker_access_token


@dataclass
class BridgeWorld:
    """A FIFO workspace of the configured account, an Available worker and a token for it."""

    server: LiveServer
    client: Client
    key_sid: str
    secret: str
    workspace: Any
    worker: Any
    workflow: Any
    activities: dict[str, str]
    token: str

    @property
    def ws_url(self) -> str:
        return self.server.url.replace("http", "ws", 1) + "/v1/wschannels"

    @property
    def eb_url(self) -> str:
        return self.server.url + "/v1/wschannels"

    def token_for(self, worker_sid: str, **overrides: Any) -> str:
        """Another token of the same key (other worker, other lifetime, other secret)."""
        args: dict[str, Any] = {
            "account_sid": self.server.settings.account_sid,
            "key_sid": self.key_sid,
            "secret": self.secret,
            "workspace_sid": self.workspace.sid,
            "worker_sid": worker_sid,
        }
        args.update(overrides)
        return worker_access_token(**args)

    def open(self, token: str | None = None, **query: str) -> ClientConnection:
        """Open an event socket the way the SDK does."""
        params = {
            "token": token or self.token,
            "closeExistingSessions": "false",
            "clientVersion": "2.1.1",
        }
        params.update(query)
        url = self.ws_url + "?" + "&".join(f"{k}={v}" for k, v in params.items())
        return connect(url, proxy=None, open_timeout=10)

    def call(
        self,
        url: str,
        method: str = "GET",
        params: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        api_version: str = "v1",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One REST-over-bridge call, shaped as the SDK's Request sends it."""
        body = json.dumps(
            {"url": url, "method": method, "params": params or {}, "token": token or self.token}
        )
        return httpx.post(
            self.eb_url,
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "apiVersion": api_version,
                "clientVersion": "2.1.1",
                **(headers or {}),
            },
            timeout=30,
        )

    def worker_path(self, *parts: str) -> str:
        return "/".join(["Workspaces", self.workspace.sid, "Workers", self.worker.sid, *parts])


def make_world(server: LiveServer, *, friendly_name: str = "alice") -> BridgeWorld:
    """Create the workspace, the worker and the token."""
    key_sid, secret = new_api_key()
    register_api_key(server.url, key_sid, secret)
    client = Client(key_sid, secret, account_sid=server.settings.account_sid)
    client.taskrouter.base_url = server.url
    workspace = client.taskrouter.v1.workspaces.create(friendly_name="bridge", template="FIFO")
    activities = {a.friendly_name: a.sid for a in workspace.activities.list()}
    worker = workspace.workers.create(
        friendly_name=friendly_name, activity_sid=activities["Available"], attributes="{}"
    )
    world = BridgeWorld(
        server=server,
        client=client,
        key_sid=key_sid,
        secret=secret,
        workspace=workspace,
        worker=worker,
        workflow=workspace.workflows.list()[0],
        activities=activities,
        token="",
    )
    world.token = world.token_for(worker.sid)
    return world


def next_frames(
    socket: ClientConnection, *event_types: str, timeout: float = 15
) -> dict[str, dict[str, Any]]:
    """Read frames until one of each type has arrived, in any order (others and heartbeats skipped)."""
    deadline = time.monotonic() + timeout
    found: dict[str, dict[str, Any]] = {}
    while len(found) < len(event_types):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {sorted(set(event_types) - set(found))} frame in time")
        try:
            text = socket.recv(timeout=remaining)
        except TimeoutError:
            continue
        if not str(text).strip():
            continue
        message: dict[str, Any] = json.loads(text)
        if message["event_type"] in event_types:
            found.setdefault(message["event_type"], message)
    return found


def next_frame(socket: ClientConnection, event_type: str, *, timeout: float = 15) -> dict[str, Any]:
    """Read frames until one of `event_type` arrives (heartbeats and other events are skipped)."""
    return next_frames(socket, event_type, timeout=timeout)[event_type]


def closed_by_server(socket: ClientConnection, *, timeout: float = 15) -> ConnectionClosed:
    """Wait until the server closes the socket; return how it closed it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.recv(timeout=deadline - time.monotonic())
        except ConnectionClosed as closed:
            return closed
        except TimeoutError:
            break
    raise AssertionError("the server did not close the socket")
