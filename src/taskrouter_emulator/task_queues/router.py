"""HTTP routes of the task_queues resource."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
