"""Emulator-only endpoints outside /v1: health and the virtual clock."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from taskrouter_emulator import __version__

router = APIRouter(prefix="/emulator")


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    """Report the version, the database backend and the emulated time (no authentication)."""
    engine = request.app.state.engine
    return {
        "status": "ok",
        "version": __version__,
        "database": engine.dialect.name,
        "clock": {
            "now": request.app.state.clock.now().isoformat(),
            "frozen": request.app.state.clock.frozen,
        },
    }
