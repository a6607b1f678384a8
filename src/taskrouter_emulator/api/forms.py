"""Twilio request parameters: PascalCase names, form bodies or query strings, lenient booleans.

Each resource declares a pydantic model whose fields are snake_case with PascalCase aliases;
`params(Model)` is a FastAPI dependency that reads the form body (POST) or the query string (GET)
and validates it, so a bad value becomes a Twilio 400 instead of a 422.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar, get_args, get_origin
from urllib.parse import parse_qsl

from fastapi import Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic.alias_generators import to_pascal
from starlette.datastructures import ImmutableMultiDict

from taskrouter_emulator.errors import InvalidParameter
from taskrouter_emulator.jsontext import loads_strict

M = TypeVar("M", bound=BaseModel)

_TRUE = {"true", "1", "yes"}


def parse_twilio_bool(value: object) -> object:
    """Twilio treats `true`, `1` and `yes` (any case) as true and every other string as false."""
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return value


def parse_utc_datetime(value: object) -> object:
    """Accept ISO 8601 with `Z`, an offset or none (taken as UTC) and return an aware UTC datetime."""
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"'{value}' is not an ISO 8601 date-time") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    return value


TwilioBool = Annotated[bool, BeforeValidator(parse_twilio_bool)]
TwilioDateTime = Annotated[datetime, BeforeValidator(parse_utc_datetime)]


class TwilioParams(BaseModel):
    """Base of every request-parameter model: PascalCase aliases, unknown parameters ignored."""

    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore")

    def provided(self, name: str) -> bool:
        """Tell whether the client sent this parameter."""
        return name in self.model_fields_set


_LIST_SPLIT = re.compile(r"[,\s]+")


def _is_list_field(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is list:
        return True
    return any(_is_list_field(arg) for arg in get_args(annotation) if arg is not type(None))


def _collect(
    model: type[BaseModel], data: Mapping[str, Any] | ImmutableMultiDict[str, Any]
) -> dict[str, Any]:
    collected: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        alias = field.alias or name
        if alias not in data:
            continue
        if _is_list_field(field.annotation):
            raw = data.getlist(alias) if isinstance(data, ImmutableMultiDict) else [data[alias]]
            # Arrays arrive as repeated keys, comma-joined or space-separated values.
            collected[name] = [
                part for value in raw for part in _LIST_SPLIT.split(_text(alias, value)) if part
            ]
        else:
            collected[name] = _text(alias, data[alias])
    return collected


def _text(alias: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidParameter(f"Parameter '{alias}' must be a plain form value")
    # PostgreSQL text cannot hold NUL and SQLite would store it: refuse it the same way on both.
    if "\x00" in value:
        raise InvalidParameter(f"Parameter '{alias}' must not contain NUL characters")
    return value


def describe(error: ValidationError, model: type[BaseModel]) -> str:
    """Turn a pydantic error into a one-line Twilio-style message naming the parameter."""
    messages = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        info = model.model_fields.get(field)
        alias = (info.alias if info and info.alias else field) or "request"
        messages.append(f"Invalid value for parameter {alias}: {item['msg']}")
    return "; ".join(messages)


def validate_params(model: type[M], data: Mapping[str, Any] | ImmutableMultiDict[str, Any]) -> M:
    """Validate request parameters into `model`, raising a Twilio 400 on bad values."""
    try:
        return model.model_validate(_collect(model, data))
    except ValidationError as exc:
        raise InvalidParameter(describe(exc, model)) from None


def params(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """Return a dependency that parses the request's parameters into `model`."""

    async def dependency(request: Request) -> M:
        if request.method in ("GET", "DELETE"):
            return validate_params(model, _decode(request.scope["query_string"], "query string"))
        return validate_params(model, await read_form(request))

    return dependency


async def read_form(request: Request) -> ImmutableMultiDict[str, Any]:
    """Read a form-encoded (or multipart) body; any other body counts as no parameters."""
    content_type = request.headers.get("content-type", "")
    if "form" not in content_type:
        return ImmutableMultiDict()
    if "x-www-form-urlencoded" in content_type:
        return _decode(await request.body(), "request body")
    try:
        return ImmutableMultiDict(await request.form())
    except Exception as exc:
        raise InvalidParameter(f"The request body could not be parsed: {exc}") from None


def _decode(raw: bytes, what: str) -> ImmutableMultiDict[str, Any]:
    """Parse urlencoded parameters as strict UTF-8 (Starlette would turn bad bytes into U+FFFD)."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise InvalidParameter(f"The {what} is not valid UTF-8") from None
    return ImmutableMultiDict(pairs)


def json_object_text(value: str, *, name: str, max_length: int | None = None) -> str:
    """Check that `value` is a JSON object (as Twilio requires for Attributes) and return it unchanged."""
    if max_length is not None and len(value) > max_length:
        raise InvalidParameter(
            f"{name} must be at most {max_length} characters long (got {len(value)})"
        )
    try:
        parsed = loads_strict(value)
    except json.JSONDecodeError as exc:
        raise InvalidParameter(
            f"{name} is not valid JSON: {exc.msg} at position {exc.pos}"
        ) from None
    if not isinstance(parsed, dict):
        raise InvalidParameter(f"{name} must be a JSON object")
    return value
