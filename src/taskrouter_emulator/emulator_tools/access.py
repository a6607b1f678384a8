"""Who may use the emulator's control endpoints: the caller's account, and server-wide actions."""

from __future__ import annotations

from taskrouter_emulator.config import Settings
from taskrouter_emulator.deps import AccountDep, SettingsDep
from taskrouter_emulator.errors import TwilioError


class ServerWideForbidden(TwilioError):
    """A server-wide action without strict-mode credentials (403/20403)."""

    status = 403
    code = 20403


async def server_admin(account_sid: AccountDep, settings: SettingsDep) -> str:
    """Dependency form of `require_server_admin`."""
    return require_server_admin(account_sid, settings)


def require_server_admin(account_sid: str, settings: Settings) -> str:
    """Allow a server-wide action only with strict-mode credentials (TASKROUTER_AUTH_TOKEN set).

    In zero-config mode anyone can authenticate as any account, so nobody may act on other accounts.
    """
    if settings.auth_token is None:
        raise ServerWideForbidden(
            "A server-wide action needs strict-mode credentials: start the emulator with "
            "TASKROUTER_AUTH_TOKEN (and TASKROUTER_ACCOUNT_SID) and authenticate with them"
        )
    return account_sid

