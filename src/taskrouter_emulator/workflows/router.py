"""HTTP routes of the workflows resource."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
