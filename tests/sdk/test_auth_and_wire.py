"""Authentication modes, account isolation and the wire conventions every resource shares."""

from __future__ import annotations

import uuid

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from tests.conftest import LiveServer, start_server


def _new_account() -> tuple[str, str]:
    return f"AC{uuid.uuid4().hex}", uuid.uuid4().hex


class TestZeroConfigAuth:
    def test_missing_credentials(self, live_server: LiveServer) -> None:
        response = httpx.get(f"{live_server.url}/v1/Workspaces")
        assert response.status_code == 401
        assert response.json()["code"] == 20003
        assert response.headers["www-authenticate"].startswith("Basic")

    @pytest.mark.parametrize(
        "auth", [("not-a-sid", "x"), ("AC" + "0" * 31, "x"), ("AC" + "a" * 32, "")]
    )
    def test_malformed_credentials(self, live_server: LiveServer, auth: tuple[str, str]) -> None:
        response = httpx.get(f"{live_server.url}/v1/Workspaces", auth=auth)
        assert (response.status_code, response.json()["code"]) == (401, 20003)

    def test_first_token_binds_the_account(self, live_server: LiveServer) -> None:
        sid, token = _new_account()
        assert httpx.get(f"{live_server.url}/v1/Workspaces", auth=(sid, token)).status_code == 200
        wrong = httpx.get(f"{live_server.url}/v1/Workspaces", auth=(sid, "another-token"))
        assert (wrong.status_code, wrong.json()["code"]) == (401, 20003)
        assert httpx.get(f"{live_server.url}/v1/Workspaces", auth=(sid, token)).status_code == 200

    def test_accounts_are_isolated(self, live_server: LiveServer) -> None:
        alice = Client(*_new_account())
        bob = Client(*_new_account())
        for c in (alice, bob):
            c.taskrouter.base_url = live_server.url
        ws = alice.taskrouter.v1.workspaces.create(friendly_name="Alice's")
        assert bob.taskrouter.v1.workspaces.list() == []
        for attempt in (
            lambda: bob.taskrouter.v1.workspaces(ws.sid).fetch(),
            lambda: bob.taskrouter.v1.workspaces(ws.sid).update(friendly_name="Stolen"),
            lambda: bob.taskrouter.v1.workspaces(ws.sid).delete(),
            lambda: bob.taskrouter.v1.workspaces(ws.sid).activities.create(friendly_name="Sneaky"),
        ):
            with pytest.raises(TwilioRestException) as excinfo:
                attempt()
            assert (excinfo.value.status, excinfo.value.code) == (404, 20404)
        assert alice.taskrouter.v1.workspaces(ws.sid).fetch().friendly_name == "Alice's"

    def test_api_key_maps_to_default_account(self, live_server: LiveServer) -> None:
        key = f"SK{uuid.uuid4().hex}"
        client = Client(key, "secret", account_sid=live_server.settings.account_sid)
        client.taskrouter.base_url = live_server.url
        ws = client.taskrouter.v1.workspaces.create(friendly_name="Via API key")
        assert ws.account_sid == live_server.settings.account_sid


class TestStrictAuth:
    def test_only_the_configured_pair_is_accepted(self, database_url: str) -> None:
        sid, token = _new_account()
        settings = Settings(
            database_url=database_url, account_sid=sid, auth_token=token, scheduler_interval=0
        )
        live, server, thread = start_server(settings, EmulatorClock(frozen=True))
        try:
            assert httpx.get(f"{live.url}/v1/Workspaces", auth=(sid, token)).status_code == 200
            other_sid, other_token = _new_account()
            for auth in ((sid, "wrong"), (other_sid, other_token), (other_sid, token)):
                response = httpx.get(f"{live.url}/v1/Workspaces", auth=auth)
                assert (response.status_code, response.json()["code"]) == (401, 20003)
            key = httpx.get(f"{live.url}/v1/Workspaces", auth=(f"SK{uuid.uuid4().hex}", token))
            assert key.status_code == 200
        finally:
            server.should_exit = True
            thread.join(timeout=10)


class TestWire:
    def test_unknown_route_and_method(self, http: httpx.Client) -> None:
        missing = http.get("/v1/Nothing/Here")
        assert (missing.status_code, missing.json()["code"]) == (404, 20404)
        wrong = http.put("/v1/Workspaces")
        assert (wrong.status_code, wrong.json()["code"]) == (405, 20004)
        assert set(wrong.json()) == {"code", "message", "more_info", "status"}

    def test_unknown_parameters_are_ignored_and_spaces_decoded(self, http: httpx.Client) -> None:
        plus = http.post(
            "/v1/Workspaces",
            content="FriendlyName=Two+Words&RequiredAttention=yes",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert plus.status_code == 201
        assert plus.json()["friendly_name"] == "Two Words"
        pct = http.post(
            "/v1/Workspaces",
            content="FriendlyName=Two%20Words&OperatingUnitSid=OU1",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert pct.json()["friendly_name"] == "Two Words"

    def test_forwarded_headers_shape_urls(self, http: httpx.Client) -> None:
        response = http.post(
            "/v1/Workspaces",
            data={"FriendlyName": "Proxied"},
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "tr.example.test"},
        )
        assert response.json()["url"].startswith("https://tr.example.test/v1/Workspaces/WS")

    def test_public_url_setting_wins(self, database_url: str) -> None:
        settings = Settings(
            database_url=database_url,
            public_url="https://emulator.internal:9443/",
            scheduler_interval=0,
        )
        live, server, thread = start_server(settings, EmulatorClock(frozen=True))
        try:
            sid, token = _new_account()
            body = httpx.post(
                f"{live.url}/v1/Workspaces", data={"FriendlyName": "P"}, auth=(sid, token)
            ).json()
            assert body["url"].startswith("https://emulator.internal:9443/v1/Workspaces/")
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    def test_health_needs_no_auth(self, live_server: LiveServer) -> None:
        body = httpx.get(f"{live_server.url}/emulator/health").json()
        assert body["status"] == "ok"
        assert body["database"] in ("sqlite", "postgresql")
        assert body["version"]

    def test_non_form_body_is_treated_as_no_parameters(self, http: httpx.Client) -> None:
        response = http.post("/v1/Workspaces", json={"FriendlyName": "json"})
        assert (response.status_code, response.json()["code"]) == (400, 20001)
