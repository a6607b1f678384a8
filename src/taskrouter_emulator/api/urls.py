"""Absolute URLs: every `url`, `links` entry and paging URL names this server, never twilio.com."""

from __future__ import annotations

from fastapi import Request

from taskrouter_emulator.config import Settings


def public_base_url(request: Request, settings: Settings) -> str:
    """Return the externally visible base URL, e.g. `http://127.0.0.1:8080`."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    headers = request.headers
    proto = (headers.get("x-forwarded-proto") or request.url.scheme).split(",")[0].strip()
    host = (headers.get("x-forwarded-host") or headers.get("host") or "").split(",")[0].strip()
    if not host:
        host = request.url.netloc
    return f"{proto}://{host}"


V1 = "/v1/Workspaces"


def workspace_path(workspace_sid: str) -> str:
    """Return the path of a workspace."""
    return f"{V1}/{workspace_sid}"


def child_path(workspace_sid: str, *parts: str) -> str:
    """Return the path of something inside a workspace, e.g. `child_path(ws, "Workers", wk)`."""
    return "/".join((workspace_path(workspace_sid), *parts))
