"""Documented behaviours checked through twilio-python (issue 11): reject order, versions,
re-evaluation on reservation time-out, HTTP conventions, stable paging and bad input."""

from __future__ import annotations

import json

import httpx
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from taskrouter_emulator.clock import EmulatorClock
from taskrouter_emulator.config import Settings
from taskrouter_emulator.testing import Account, start_server
from tests.sdk.routing_helpers import Setup, make_setup, single_queue


def _twilio_error(code: int, message: str, status: int) -> dict[str, object]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@pytest.fixture
def setup(client: Client, http: httpx.Client) -> Setup:
    return make_setup(client, http)


class TestRejectPendingReservations:
    """§2.4/§6.2: the rejected task is never offered again to the worker that is going away."""

    def test_worker_moves_before_the_task_is_rerouted(self, setup: Setup) -> None:
        single_queue(setup)
        leaving = setup.worker("Leaving")
        task = setup.task({"type": "support"})
        [offer] = setup.reservations(task.sid, "pending")
        assert offer.worker_sid == leaving.sid

        updated = setup.api.workers(leaving.sid).update(
            activity_sid=setup.activities["Offline"], reject_pending_reservations=True
        )

        assert updated.activity_name == "Offline"
        assert setup.api.tasks(task.sid).reservations(offer.sid).fetch().reservation_status == (
            "rejected"
        )
        assert setup.pending_for(leaving.sid) == []
        assert setup.api.tasks(task.sid).fetch().assignment_status == "pending"
        types = [e.event_type for e in setup.events()]
        assert types[-2:] == ["worker.activity.update", "reservation.rejected"]

    def test_task_goes_to_a_worker_still_available(self, setup: Setup) -> None:
        single_queue(setup)
        leaving = setup.worker("Leaving")
        task = setup.task()
        staying = setup.worker("Staying")
        assert setup.pending_for(staying.sid) == []

        setup.api.workers(leaving.sid).update(
            activity_sid=setup.activities["Unavailable"], reject_pending_reservations=True
        )

        assert [r.task_sid for r in setup.pending_for(staying.sid)] == [task.sid]
        assert setup.pending_for(leaving.sid) == []

    def test_reject_with_activity_and_timeout_share_the_order(self, setup: Setup) -> None:
        single_queue(setup)
        worker = setup.worker("Solo")
        task = setup.task()
        [offer] = setup.reservations(task.sid, "pending")
        setup.api.tasks(task.sid).reservations(offer.sid).update(
            reservation_status="rejected", worker_activity_sid=setup.activities["Offline"]
        )
        assert setup.pending_for(worker.sid) == []
        setup.api.workers(worker.sid).update(activity_sid=setup.activities["Available"])
        [second] = setup.reservations(task.sid, "pending")
        setup.advance(121)
        assert setup.api.workers(worker.sid).fetch().activity_name == "Offline"
        assert setup.pending_for(worker.sid) == []
        types = [e.event_type for e in setup.events(reservation_sid=second.sid)]
        assert types[-1] == "reservation.timeout"


class TestVersions:
    """§1.9: the ETag is the version, 0 on create and +1 per change, for Tasks, Workers and Reservations."""

    def test_task_created_then_updated_once_has_etag_1(self, setup: Setup) -> None:
        single_queue(setup)
        base = f"/v1/Workspaces/{setup.ws.sid}/Tasks"
        created = setup.http.post(base, data={"Attributes": '{"a": 1}'})
        assert created.status_code == 201
        assert created.headers["ETag"] == "0"
        sid = created.json()["sid"]
        updated = setup.http.post(f"{base}/{sid}", data={"Attributes": '{"a": 2}'})
        assert updated.headers["ETag"] == "1"
        assert setup.http.get(f"{base}/{sid}").headers["ETag"] == "1"
        stale = setup.http.post(
            f"{base}/{sid}", data={"Attributes": '{"a": 3}'}, headers={"If-Match": "0"}
        )
        assert stale.status_code == 412
        assert stale.json()["code"] == 20412
        assert setup.api.tasks(sid).update(priority=5, if_match="1").priority == 5

    def test_task_reservation_and_worker_versions_through_a_lifecycle(self, setup: Setup) -> None:
        single_queue(setup)
        worker = setup.worker("Versioned")
        worker_path = f"/v1/Workspaces/{setup.ws.sid}/Workers/{worker.sid}"
        assert setup.http.get(worker_path).headers["ETag"] == "0"
        created = setup.http.post(f"/v1/Workspaces/{setup.ws.sid}/Tasks", data={})
        # Reserved inside the creating request: still version 0.
        assert created.headers["ETag"] == "0"
        task_sid = created.json()["sid"]
        [offer] = setup.reservations(task_sid, "pending")
        reservation_path = (
            f"/v1/Workspaces/{setup.ws.sid}/Tasks/{task_sid}/Reservations/{offer.sid}"
        )
        assert setup.http.get(reservation_path).headers["ETag"] == "0"
        [event] = setup.events(event_type="reservation.created")
        assert event.event_data["task_version"] == "0"
        assert event.event_data["reservation_version"] == "0"

        accepted = setup.http.post(reservation_path, data={"ReservationStatus": "accepted"})
        assert accepted.headers["ETag"] == "1"
        task_path = f"/v1/Workspaces/{setup.ws.sid}/Tasks/{task_sid}"
        assert setup.http.get(task_path).headers["ETag"] == "1"
        [event] = setup.events(event_type="reservation.accepted")
        assert event.event_data["task_version"] == "1"

        completed = setup.http.post(
            task_path, data={"AssignmentStatus": "completed", "Reason": "done"}
        )
        assert completed.headers["ETag"] == "2"
        assert setup.http.get(reservation_path).headers["ETag"] == "2"
        # Reservations and tasks never moved the worker (multitasking): its version is unchanged.
        assert setup.http.get(worker_path).headers["ETag"] == "0"
        moved = setup.http.post(worker_path, data={"ActivitySid": setup.activities["Offline"]})
        assert moved.headers["ETag"] == "1"


class TestReservationTimeoutReevaluates:
    """§4.2 item 3: the docs' worked example of a reservation time-out inside cumulative steps."""

    def test_task_moves_to_q2_at_t8_and_keeps_the_age_based_deadline(self, setup: Setup) -> None:
        q1 = setup.queue("Q1", target_workers="skill == 'q1'")
        q2 = setup.queue("Q2", target_workers="skill == 'q2'")
        q3 = setup.queue("Q3", target_workers="skill == 'q3'")
        targets = [{"queue": q.sid, "timeout": 10} for q in (q1, q2, q3)]
        setup.workflow(
            {
                "filters": [
                    {"filter_friendly_name": "All", "expression": "1==1", "targets": targets}
                ]
            },
            task_reservation_timeout=5,
        )
        task = setup.task()
        assert setup.api.tasks(task.sid).fetch().task_queue_sid == q1.sid
        setup.advance(3)
        worker = setup.worker("Q1 agent", {"skill": "q1"})
        [offer] = setup.reservations(task.sid, "pending")
        assert offer.worker_sid == worker.sid

        setup.advance(5)  # t=8: the reservation times out

        fetched = setup.api.tasks(task.sid).fetch()
        assert fetched.assignment_status == "pending"
        assert fetched.task_queue_sid == q2.sid
        assert fetched.age == 8
        assert setup.api.tasks(task.sid).reservations(offer.sid).fetch().reservation_status == (
            "timeout"
        )
        [timeout] = setup.events(task_sid=task.sid, event_type="reservation.timeout")
        moved = setup.events(task_sid=task.sid, event_type="task-queue.moved")
        assert [e.event_date_ms for e in moved] == [timeout.event_date_ms]
        entered = setup.events(task_sid=task.sid, event_type="task-queue.entered")
        assert [e.event_data["task_queue_sid"] for e in entered] == [q1.sid, q2.sid]
        assert entered[1].event_date_ms == timeout.event_date_ms

        setup.advance(11)  # t=19: Q2's deadline is the cumulative 20 s of task age
        assert setup.api.tasks(task.sid).fetch().task_queue_sid == q2.sid
        setup.advance(1)  # t=20
        assert setup.api.tasks(task.sid).fetch().task_queue_sid == q3.sid
        setup.advance(10)  # t=30: past the last step, the workflow times out
        final = setup.api.tasks(task.sid).fetch()
        assert final.assignment_status == "canceled"
        assert final.reason == "Task canceled on Workflow timeout"

    def test_last_step_keeps_the_task_until_its_deadline(self, setup: Setup) -> None:
        queue = setup.queue("Only")
        setup.workflow(
            {"filters": [{"expression": "1==1", "targets": [{"queue": queue.sid, "timeout": 30}]}]},
            task_reservation_timeout=5,
        )
        setup.worker("Agent")
        task = setup.task()
        setup.advance(5)
        fetched = setup.api.tasks(task.sid).fetch()
        assert (fetched.assignment_status, fetched.task_queue_sid) == ("pending", queue.sid)
        setup.advance(25)
        assert setup.api.tasks(task.sid).fetch().assignment_status == "canceled"


class TestMethodNotAllowed:
    """RFC 9110 §15.5.6: 405 carries `Allow`; fixed names are not taken for SIDs (→ 404)."""

    @pytest.mark.parametrize(
        ("method", "tail", "allow"),
        [
            ("POST", "Workers/Statistics", "GET"),
            ("POST", "Workers/CumulativeStatistics", "GET"),
            ("POST", "Workers/RealTimeStatistics", "GET"),
            ("DELETE", "Workers/Statistics", "GET"),
            ("POST", "TaskQueues/Statistics", "GET"),
            ("GET", "TaskQueues/RealTimeStatistics", "POST"),
            ("DELETE", "TaskQueues/RealTimeStatistics", "POST"),
        ],
    )
    def test_fixed_name_paths_answer_405_with_allow(
        self, setup: Setup, method: str, tail: str, allow: str
    ) -> None:
        path = f"/v1/Workspaces/{setup.ws.sid}/{tail}"
        answer = setup.http.request(method, path)
        assert answer.status_code == 405
        assert answer.headers["Allow"] == allow
        assert answer.json() == _twilio_error(20004, f"Method {method} not allowed on {path}", 405)

    def test_every_405_names_all_methods_of_the_path(self, setup: Setup) -> None:
        answer = setup.http.put("/v1/Workspaces")
        assert (answer.status_code, answer.headers["Allow"]) == (405, "GET, POST")
        answer = setup.http.delete(f"/v1/Workspaces/{setup.ws.sid}/Workers")
        assert (answer.status_code, answer.headers["Allow"]) == (405, "GET, POST")
        answer = setup.http.put(f"/v1/Workspaces/{setup.ws.sid}")
        assert (answer.status_code, answer.headers["Allow"]) == (405, "GET, POST, DELETE")

    def test_sids_and_the_real_methods_still_work(self, setup: Setup) -> None:
        base = f"/v1/Workspaces/{setup.ws.sid}"
        assert setup.http.post(f"{base}/Workers/Nope").status_code == 404
        assert setup.http.get(f"{base}/Workers/Statistics").status_code == 200
        assert setup.http.get(f"{base}/TaskQueues/Statistics").status_code == 200
        queue = setup.queue("Stats")
        bulk = setup.http.post(
            f"{base}/TaskQueues/RealTimeStatistics", json={"queueSids": [queue.sid]}
        )
        assert bulk.status_code in (200, 201)
        assert setup.api.workers.statistics().fetch().workspace_sid == setup.ws.sid


def _query(url: str) -> dict[str, list[str]]:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query)


class TestStablePaging:
    """Keyset page tokens and a pinned Events window: every row seen exactly once."""

    def test_events_pages_ignore_new_events_and_a_moving_clock(self, setup: Setup) -> None:
        for index in range(5):
            setup.worker(f"W{index}")
        setup.advance(30)
        expected = [e.sid for e in setup.api.events.list(minutes=1)]
        assert len(expected) >= 10  # worker.created + worker channel events, newest first

        page = setup.api.events.page(minutes=1, page_size=3)
        seen = [e.sid for e in page]
        next_url = page._payload["meta"]["next_page_url"]
        pinned = _query(next_url)
        assert "Minutes" not in pinned
        assert {"StartDate", "EndDate", "PageToken"} <= set(pinned)
        while page.next_page_url is not None:
            setup.worker(f"Late {len(seen)}")  # a newer event at the head of the list
            setup.advance(45)  # the "last minute" moves past the oldest events
            page = page.next_page()
            assert page is not None
            seen.extend(e.sid for e in page)

        assert seen == expected

    def test_previous_page_url_walks_back(self, setup: Setup) -> None:
        for index in range(5):
            setup.worker(f"W{index}")
        first = setup.api.workers.page(page_size=2)
        second = first.next_page()
        third = second.next_page()
        assert third.next_page_url is None
        back = third.previous_page()
        assert [w.sid for w in back] == [w.sid for w in second]
        assert [w.sid for w in back.previous_page()] == [w.sid for w in first]
        assert back.previous_page().previous_page_url is None

    def test_deleting_a_seen_row_does_not_skip_an_unseen_one(self, setup: Setup) -> None:
        single_queue(setup)
        created = [setup.task({"n": n}).sid for n in range(6)]
        page = setup.api.tasks.page(page_size=2)
        seen = [t.sid for t in page]
        setup.api.tasks(seen[0]).delete()
        while page.next_page_url is not None:
            page = page.next_page()
            seen.extend(t.sid for t in page)
        assert seen == created

    def test_python_filtered_lists_page_by_keyset(self, setup: Setup) -> None:
        names = [f"Agent {n}" for n in range(5)]
        for name in names:
            setup.worker(name, {"team": "blue"})
        setup.worker("Other", {"team": "red"})
        page = setup.api.workers.page(target_workers_expression="team == 'blue'", page_size=2)
        first = list(page)
        seen = [w.friendly_name for w in first]
        setup.api.workers(first[0].sid).delete()
        setup.worker("Agent new", {"team": "blue"})
        while page.next_page_url is not None:
            page = page.next_page()
            seen.extend(w.friendly_name for w in page)
        assert seen == [*names, "Agent new"]

    def test_tasks_filtered_by_their_attributes_page_by_keyset(self, setup: Setup) -> None:
        _, workflow = single_queue(setup)
        created = [setup.task({"n": n}, workflow_sid=workflow.sid).sid for n in range(7)]
        page = setup.api.tasks.page(evaluate_task_attributes="n >= 2", page_size=2)
        seen = [t.sid for t in page]
        while page.next_page_url is not None:
            page = page.next_page()
            seen.extend(t.sid for t in page)
        assert seen == created[2:]
        assert setup.api.tasks.list(evaluate_task_attributes="n == 99") == []
        # The expression is checked even when no task is left to evaluate it on.
        answer = setup.http.get(
            f"/v1/Workspaces/{setup.ws.sid}/Tasks",
            params={"EvaluateTaskAttributes": "n ==", "AssignmentStatus": "canceled"},
        )
        assert (answer.status_code, answer.json()["code"]) == (400, 20001)

    def test_reordered_rows_do_not_repeat(self, setup: Setup) -> None:
        workers = [setup.worker(f"W{n}") for n in range(4)]
        setup.advance(1)
        page = setup.api.workers.page(ordering="DateStatusChanged:desc", page_size=2)
        seen = [w.sid for w in page]
        # The first worker seen moves to the head of the order.
        setup.api.workers(seen[0]).update(activity_sid=setup.activities["Offline"])
        page = page.next_page()
        seen.extend(w.sid for w in page)
        assert sorted(seen) == sorted(w.sid for w in workers)

    def test_a_foreign_token_is_a_400(self, setup: Setup) -> None:
        answer = setup.http.get(
            f"/v1/Workspaces/{setup.ws.sid}/Workers", params={"PageToken": "PT50", "Page": "1"}
        )
        assert (answer.status_code, answer.json()["code"]) == (400, 20001)


class TestBadInput:
    """Bad input is a 400 Twilio error on SQLite and Postgres alike, and changes nothing."""

    def test_nul_in_a_parameter_is_refused(self, setup: Setup) -> None:
        with pytest.raises(TwilioRestException) as refused:
            setup.api.workers.create(friendly_name="Bad\x00Name")
        assert (refused.value.status, refused.value.code) == (400, 20001)
        assert "NUL" in refused.value.msg
        # twilio-python reports a failed list page as a TwilioException carrying the response.
        with pytest.raises(TwilioException, match=r"HTTP 400.*NUL characters"):
            setup.api.workers.list(friendly_name="Bad\x00Name")
        with pytest.raises(TwilioRestException):
            setup.api.task_queues.create(friendly_name="Q", target_workers="name == '\x00'")
        assert setup.api.workers.list() == []
        assert setup.api.task_queues.list() == []

    @pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
    def test_non_json_numbers_in_attributes_are_refused(self, setup: Setup, constant: str) -> None:
        single_queue(setup)
        with pytest.raises(TwilioRestException) as task:
            setup.api.tasks.create(attributes=f'{{"a": {constant}}}')
        assert (task.value.status, task.value.code) == (400, 20001)
        with pytest.raises(TwilioRestException) as worker:
            setup.api.workers.create(friendly_name="W", attributes=f'{{"a": [{constant}]}}')
        assert (worker.value.status, worker.value.code) == (400, 20001)
        assert setup.api.tasks.list() == []
        assert setup.api.workers.list() == []

    def test_nan_in_a_workflow_configuration_is_refused(self, setup: Setup) -> None:
        queue = setup.queue("Q")
        configuration = '{"task_routing": {"default_filter": {"queue": "%s", "priority": NaN}}}'
        with pytest.raises(TwilioRestException) as refused:
            setup.api.workflows.create(friendly_name="Bad", configuration=configuration % queue.sid)
        assert refused.value.status == 400

    @pytest.mark.parametrize("body", [b"FriendlyName=%FF%FEbad", b"FriendlyName=caf\xe9"])
    def test_invalid_utf8_in_a_form_body_is_refused(self, setup: Setup, body: bytes) -> None:
        answer = setup.http.post(
            f"/v1/Workspaces/{setup.ws.sid}/Workers",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 400
        assert answer.json() == _twilio_error(20001, "The request body is not valid UTF-8", 400)
        listed = setup.http.get(f"/v1/Workspaces/{setup.ws.sid}/Workers?FriendlyName=%FF")
        assert (listed.status_code, listed.json()["code"]) == (400, 20001)
        assert setup.api.workers.list() == []

    def test_nul_in_a_path_or_a_forged_page_token(self, setup: Setup) -> None:
        base = f"/v1/Workspaces/{setup.ws.sid}"
        worker = setup.worker("W")
        for path in (f"{base}/TaskChannels/a%00b", f"{base}/Workers/{worker.sid}/Channels/a%00b"):
            answer = setup.http.get(path)
            assert (answer.status_code, answer.json()["code"]) == (404, 20404)
        # A token whose values do not fit the list's sort keys (a string and an int for
        # DateCreated and the row id) is refused before it reaches the database.
        forged = setup.http.get(
            f"{base}/Workers",
            params={"PageToken": "PAWyJcdTAwMDAiLDFd", "Page": "1", "Ordering": "DateCreated:asc"},
        )
        assert (forged.status_code, forged.json()["code"]) == (400, 20001)

    def test_valid_utf8_still_round_trips(self, setup: Setup) -> None:
        worker = setup.api.workers.create(friendly_name="Zoë 名前", attributes='{"x": "é"}')
        assert setup.api.workers(worker.sid).fetch().friendly_name == "Zoë 名前"
        assert [w.sid for w in setup.api.workers.list(friendly_name="Zoë 名前")] == [worker.sid]


def _raw_exchange(port: int, requests: list[bytes]) -> list[bytes]:
    """Send HTTP/1.1 requests one after another on one keep-alive socket; return the responses."""
    import socket

    answers = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for request in requests:
            sock.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                assert chunk, "the server closed the connection"
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(
                next(
                    line.split(b":", 1)[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
            )
            while len(body) < length:
                chunk = sock.recv(65536)
                assert chunk, "the server closed the connection"
                body += chunk
            answers.append(head + b"\r\n\r\n" + body)
    return answers


def test_a_crash_is_a_twilio_500_and_keeps_the_connection(
    private_database: str, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 500 is rendered by the error handler, and the keep-alive connection survives it."""
    import base64

    from taskrouter_emulator.workspaces import service as workspace_service

    settings = Settings(database_url=private_database, clock="frozen", scheduler_interval=0)
    live, server, thread = start_server(settings, EmulatorClock(frozen=True))
    try:
        credentials = base64.b64encode(f"{account.sid}:{account.token}".encode()).decode()

        def request(method: str, path: str, body: bytes = b"") -> bytes:
            return (
                f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Basic {credentials}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body

        def crash(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError("simulated crash inside a request")

        monkeypatch.setattr(workspace_service, "create", crash)
        port = int(live.url.rsplit(":", 1)[1])
        crashed, after = _raw_exchange(
            port,
            [
                request("POST", "/v1/Workspaces", b"FriendlyName=Boom"),
                request("GET", "/v1/Workspaces"),
            ],
        )
        assert crashed.startswith(b"HTTP/1.1 500")
        assert b"connection: close" not in crashed.lower()
        body = json.loads(crashed.partition(b"\r\n\r\n")[2])
        assert body == _twilio_error(20500, "Internal Server Error", 500)
        assert after.startswith(b"HTTP/1.1 200")
        assert json.loads(after.partition(b"\r\n\r\n")[2])["workspaces"] == []
    finally:
        server.should_exit = True
        thread.join(timeout=10)
