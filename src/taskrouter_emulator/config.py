"""Settings, read from `TASKROUTER_*` environment variables and the command line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_ACCOUNT_SID = "AC00000000000000000000000000000000"
# Idle keep-alive connections are closed after this long. Longer than the clients' own idle expiry
# (httpx: 5 s, Node: 5 s) so a client never reuses a connection the server is closing at that very
# moment, which loses a POST with a connection error (uvicorn's default is also 5 s).
KEEP_ALIVE_SECONDS = 30


class Settings(BaseSettings):
    """Runtime configuration of one emulator process."""

    model_config = SettingsConfigDict(env_prefix="TASKROUTER_", extra="ignore")

    database_url: str = "sqlite:///./taskrouter.db"
    # Strict auth mode is on when auth_token is set: only this account/token pair is accepted.
    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str | None = None
    # Externally visible base URL used in `url`, `links` and paging URLs (else the request's Host).
    public_url: str | None = None
    # "real": wall-clock time (plus any offset added through /emulator/clock); "frozen": time moves only on request.
    clock: Literal["real", "frozen"] = "real"
    # Seconds a canceled or completed task is kept before it is deleted (Twilio: 5 minutes).
    task_retention_seconds: int = Field(default=300, ge=0)
    # Days of event history kept for the Events resource and cumulative statistics (Twilio: 30).
    event_retention_days: int = Field(default=30, ge=1)
    # Scheduler poll interval in seconds; 0 disables the background scheduler thread.
    scheduler_interval: float = Field(default=1.0, ge=0)
    run_migrations: bool = True
    # Outbound webhooks: how long to wait for an answer (Twilio: 5 s assignment, 15 s events),
    # how often a failing event callback is tried, and the first retry delay (doubled each time).
    assignment_callback_timeout: float = Field(default=5.0, gt=0)
    event_callback_timeout: float = Field(default=15.0, gt=0)
    webhook_max_attempts: int = Field(default=5, ge=1)
    webhook_retry_delay: float = Field(default=1.0, ge=0)
    # Concurrent outbound requests (coroutines); 0 disables sending (deliveries stay queued).
    webhook_workers: int = Field(default=256, ge=0)
    # Hours a finished delivery (delivered, failed, applied, ...) stays in the journal.
    webhook_retention_hours: float = Field(default=24.0, gt=0)
    # Enforce Twilio's costlier limits too: tasks per workspace and request rates (emulator_tools.limits).
    strict_limits: bool = False


@dataclass(frozen=True)
class LifecycleConfig:
    """The settings that task, reservation and timer transitions read, carried by each session."""

    # How long a canceled or completed task is kept before it is system-deleted.
    task_retention: timedelta
    # How long events (and their counts) are kept.
    event_retention: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> LifecycleConfig:
        """Take the lifecycle's settings from the process settings."""
        return cls(
            task_retention=timedelta(seconds=settings.task_retention_seconds),
            event_retention=timedelta(days=settings.event_retention_days),
        )
