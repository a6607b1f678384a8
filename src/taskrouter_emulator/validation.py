"""Parameter checks shared by several resources."""

from __future__ import annotations

from urllib.parse import urlsplit

from taskrouter_emulator.errors import InvalidFriendlyName, InvalidParameter, ResourceNotFound
from taskrouter_emulator.expressions import ExpressionError, parse
from taskrouter_emulator.sids import Prefix, is_sid


def missing(name: str) -> InvalidParameter:
    """Return the error for a required parameter that was not sent."""
    return InvalidParameter(f"Missing required parameter {name} in the post body")


def friendly_name(value: str | None, *, required: bool = True, max_length: int = 64) -> str | None:
    """Check a FriendlyName: required on create, 1 to `max_length` characters."""
    if value is None:
        if required:
            raise missing("FriendlyName")
        return None
    if not value.strip() or len(value) > max_length:
        raise InvalidFriendlyName(
            f"FriendlyName must be between 1 and {max_length} characters long"
        )
    return value


def callback_url(value: str | None, *, name: str) -> str | None:
    """Check a callback URL: absolute http(s) or empty (which clears it)."""
    if value is None or value == "":
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidParameter(f"{name} must be an absolute http or https URL, got '{value}'")
    return value


def one_of(value: str | None, allowed: tuple[str, ...], *, name: str) -> str | None:
    """Check an enum parameter (case-insensitively) and return its canonical spelling."""
    if value is None:
        return None
    for option in allowed:
        if value.upper() == option.upper():
            return option
    raise InvalidParameter(
        f"Invalid value '{value}' for {name}; expected one of {', '.join(allowed)}"
    )


def path_sid(value: str, prefix: Prefix, path: str) -> str:
    """Check a SID taken from the URL path; a malformed one is simply not found."""
    if not is_sid(value, prefix):
        raise ResourceNotFound(path)
    return value


def expression(value: str, *, name: str) -> str:
    """Check that an expression parses; a bad one is a 400 naming the parameter and the position."""

    try:
        parse(value)
    except ExpressionError as exc:
        raise InvalidParameter(f"Invalid {name}: {exc}") from None
    return value
