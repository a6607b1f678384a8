"""Response conventions: snake_case fields, every key present, dates as `YYYY-MM-DDTHH:MM:SSZ`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer


def format_date(value: datetime | None) -> str | None:
    """Format a datetime the way twilio-python parses it (whole seconds, `Z`)."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Date = Annotated[datetime, PlainSerializer(format_date, return_type=str)]
OptionalDate = Annotated[datetime | None, PlainSerializer(format_date, return_type=str | None)]


class Resource(BaseModel):
    """Base of every response model."""

    model_config = ConfigDict(from_attributes=True)
