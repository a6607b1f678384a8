"""Routing scenarios end to end: twilio-python against a live server, time moved by /emulator/clock."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.sdk.routing_helpers import Setup, make_setup, single_queue


@pytest.fixture
def setup(client: Client, http: httpx.Client) -> Setup:
    return make_setup(client, http)


class TestSkillsRouting:
    def test_task_goes_to_the_matching_queue_and_worker(self, setup: Setup) -> None:
        sales = setup.queue("Sales", "skills HAS 'sales'")
        support = setup.queue("Support", "skills HAS 'support'")
        setup.workflow(
            {
                "filters": [
                    {
                        "filter_friendly_name": "Sales",
                        "expression": "type == 'sales'",
                        "targets": [{"queue": sales.sid}],
                    },
                    {
                        "filter_friendly_name": "Support",
                        "expression": "type == 'support'",
                        "targets": [{"queue": support.sid}],
                    },
                ]
            }
        )
        alice = setup.worker("Alice", {"skills": ["sales"]})
        bob = setup.worker("Bob", {"skills": ["support"]})
        task = setup.task({"type": "support"})
        assert task.assignment_status == "reserved"
        assert (task.task_queue_sid, task.task_queue_friendly_name) == (support.sid, "Support")
        [reservation] = setup.reservations(task.sid)
        assert (
            reservation.worker_sid,
            reservation.worker_name,
            reservation.reservation_status,
        ) == (bob.sid, "Bob", "pending")
        assert setup.pending_for(alice.sid) == []
        sales_task = setup.task({"type": "sales"})
        assert setup.reservations(sales_task.sid)[0].worker_sid == alice.sid

    def test_no_matching_filter_is_400_and_creates_nothing(self, setup: Setup) -> None:
        queue = setup.queue("Q")
        setup.workflow(
            {"filters": [{"expression": "type == 'x'", "targets": [{"queue": queue.sid}]}]}
        )
        with pytest.raises(TwilioRestException) as excinfo:
            setup.task({"type": "y"})
        assert (excinfo.value.status, excinfo.value.code) == (400, 20001)
        assert setup.api.tasks.list() == []

    def test_task_waits_when_nobody_is_available(self, setup: Setup) -> None:
        single_queue(setup)
        worker = setup.worker("Offline Olga", activity="Offline")
        task = setup.task()
        assert task.assignment_status == "pending"
        assert task.task_queue_entered_date is not None
        setup.api.workers(worker.sid).update(activity_sid=setup.activities["Available"])
        assert setup.api.tasks(task.sid).fetch().assignment_status == "reserved"


class TestLifecycle:
    def test_accept_wrap_complete(self, setup: Setup) -> None:
        single_queue(setup)
        worker = setup.worker("Alice")
        task = setup.task({"n": 1})
        [reservation] = setup.reservations(task.sid)
        accepted = (
            setup.api.tasks(task.sid)
            .reservations(reservation.sid)
            .update(reservation_status="accepted")
        )
        assert accepted.reservation_status == "accepted"
        assert setup.api.tasks(task.sid).fetch().assignment_status == "assigned"
        wrapping = setup.api.tasks(task.sid).update(assignment_status="wrapping")
        assert wrapping.assignment_status == "wrapping"
        assert (
            setup.api.workers(worker.sid).reservations(reservation.sid).fetch().reservation_status
            == "wrapping"
        )
        done = setup.api.tasks(task.sid).update(assignment_status="completed", reason="resolved")
        assert (done.assignment_status, done.reason) == ("completed", "resolved")
        assert setup.reservations(task.sid)[0].reservation_status == "completed"
        types = [e.event_type for e in setup.events(task_sid=task.sid)]
        assert types == [
            "task.created",
            "workflow.entered",
            "workflow.target-matched",
            "task-queue.entered",
            "reservation.created",
            "reservation.accepted",
            "task.wrapup",
            "reservation.wrapup",
            "reservation.completed",
            "task.completed",
        ]

    def test_completing_all_reservations_completes_the_task(self, setup: Setup) -> None:
        single_queue(setup)
        setup.worker("Alice")
        task = setup.task()
        [reservation] = setup.reservations(task.sid)
        path = setup.api.tasks(task.sid).reservations(reservation.sid)
        path.update(instruction="accept")
        path.update(reservation_status="completed")
        fetched = setup.api.tasks(task.sid).fetch()
        assert (fetched.assignment_status, fetched.reason) == (
            "completed",
            "All reservations were completed",
        )

    def test_reject_reroutes_to_another_worker(self, setup: Setup) -> None:
        single_queue(setup)
        alice = setup.worker("Alice")
        setup.advance(1)
        bob = setup.worker("Bob")
        task = setup.task()
        [first] = setup.reservations(task.sid)
        assert first.worker_sid == alice.sid  # idle longest
        setup.api.workers(alice.sid).reservations(first.sid).update(
            reservation_status="rejected", worker_activity_sid=setup.activities["Unavailable"]
        )
        assert setup.api.workers(alice.sid).fetch().activity_name == "Unavailable"
        second = setup.reservations(task.sid, "pending")
        assert [r.worker_sid for r in second] == [bob.sid]
        assert setup.api.tasks(task.sid).fetch().assignment_status == "reserved"

    def test_reservation_timeout_moves_worker_and_reroutes(self, setup: Setup) -> None:
        single_queue(setup)
        alice = setup.worker("Alice")
        setup.advance(1)
        bob = setup.worker("Bob")
        task = setup.task()
        [first] = setup.reservations(task.sid)
        assert first.worker_sid == alice.sid
        setup.advance(119)
        assert setup.reservations(task.sid)[0].reservation_status == "pending"
        setup.advance(1)
        statuses = {r.worker_sid: r.reservation_status for r in setup.reservations(task.sid)}
        assert statuses == {alice.sid: "timeout", bob.sid: "pending"}
        alice_now = setup.api.workers(alice.sid).fetch()
        assert (alice_now.activity_name, alice_now.available) == ("Offline", False)
        assert "reservation.timeout" in [e.event_type for e in setup.events(task_sid=task.sid)]

    def test_workflow_reservation_timeout_setting(self, setup: Setup) -> None:
        queue = setup.queue("Q")
        setup.workflow(
            {"filters": [], "default_filter": {"queue": queue.sid}}, task_reservation_timeout=30
        )
        setup.worker("Alice")
        task = setup.task()
        setup.advance(30)
        assert setup.reservations(task.sid)[0].reservation_status == "timeout"
        assert setup.api.tasks(task.sid).fetch().assignment_status == "pending"

    def test_cancel_pending_task_cancels_reservations(self, setup: Setup) -> None:
        single_queue(setup)
        worker = setup.worker("Alice")
        task = setup.task()
        canceled = setup.api.tasks(task.sid).update(
            assignment_status="canceled", reason="caller hung up"
        )
        assert (canceled.assignment_status, canceled.reason) == ("canceled", "caller hung up")
        assert setup.reservations(task.sid)[0].reservation_status == "canceled"
        next_task = setup.task()
        assert setup.reservations(next_task.sid)[0].worker_sid == worker.sid

    def test_ttl_cancels_the_task(self, setup: Setup) -> None:
        single_queue(setup)
        task = setup.task(timeout=60)
        assert task.timeout == 60
        setup.advance(59)
        assert setup.api.tasks(task.sid).fetch().assignment_status == "pending"
        setup.advance(1)
        fetched = setup.api.tasks(task.sid).fetch()
        assert (fetched.assignment_status, fetched.reason) == ("canceled", "Task TTL Exceeded")

    def test_final_tasks_are_deleted_after_retention(
        self, setup: Setup, http: httpx.Client
    ) -> None:
        single_queue(setup)
        task = setup.task()
        setup.api.tasks(task.sid).update(assignment_status="canceled")
        setup.advance(299)
        assert setup.api.tasks(task.sid).fetch().assignment_status == "canceled"
        setup.advance(1)
        assert http.get(f"/v1/Workspaces/{setup.ws.sid}/Tasks/{task.sid}").status_code == 404
        assert "task.system-deleted" in [e.event_type for e in setup.events(task_sid=task.sid)]

    def test_delete_task(self, setup: Setup, http: httpx.Client) -> None:
        single_queue(setup)
        worker = setup.worker("Alice")
        task = setup.task()
        assert setup.api.tasks(task.sid).delete() is True
        assert http.get(f"/v1/Workspaces/{setup.ws.sid}/Tasks/{task.sid}").status_code == 404
        assert setup.pending_for(worker.sid) == []
        assert "task.deleted" in [e.event_type for e in setup.events(task_sid=task.sid)]


class TestMultitasking:
    def test_capacity_two_gives_two_parallel_reservations_never_three(self, setup: Setup) -> None:
        single_queue(setup)
        worker = setup.worker("Chatty")
        setup.api.workers(worker.sid).worker_channels("chat").update(capacity=2)
        tasks = [setup.task({"n": i}, task_channel="chat") for i in range(3)]
        assert [t.assignment_status for t in tasks] == ["reserved", "reserved", "pending"]
        assert len(setup.pending_for(worker.sid)) == 2
        channel = setup.api.workers(worker.sid).worker_channels("chat").fetch()
        assert (channel.configured_capacity, channel.available_capacity_percentage) == (2, 0)
        first = setup.reservations(tasks[0].sid)[0]
        setup.api.tasks(tasks[0].sid).reservations(first.sid).update(reservation_status="accepted")
        assert setup.api.tasks(tasks[2].sid).fetch().assignment_status == "pending"
        assert setup.api.workers(worker.sid).worker_channels("chat").fetch().assigned_tasks == 1
        setup.api.tasks(tasks[0].sid).update(assignment_status="completed")
        assert setup.api.tasks(tasks[2].sid).fetch().assignment_status == "reserved"
        assert len(setup.pending_for(worker.sid)) == 2

    def test_channel_unavailable_blocks_that_channel_only(self, setup: Setup) -> None:
        single_queue(setup)
        worker = setup.worker("Vera")
        setup.api.workers(worker.sid).worker_channels("voice").update(available=False)
        voice = setup.task(task_channel="voice")
        sms = setup.task(task_channel="sms")
        assert voice.assignment_status == "pending"
        assert sms.assignment_status == "reserved"
        setup.api.workers(worker.sid).worker_channels("voice").update(available=True)
        assert setup.api.tasks(voice.sid).fetch().assignment_status == "reserved"

    def test_activity_does_not_change_in_multitasking(self, setup: Setup) -> None:
        queue = setup.queue("Q", reservation_activity_sid=None) if False else setup.queue("Q")
        setup.workflow({"filters": [], "default_filter": {"queue": queue.sid}})
        worker = setup.worker("Alice")
        task = setup.task()
        [reservation] = setup.reservations(task.sid)
        setup.api.tasks(task.sid).reservations(reservation.sid).update(
            reservation_status="accepted"
        )
        assert setup.api.workers(worker.sid).fetch().activity_name == "Available"


class TestSingleTasking:
    def test_reservation_and_assignment_activities_move_the_worker(
        self, client: Client, http: httpx.Client
    ) -> None:
        setup = make_setup(client, http, multi_task_enabled=False)
        reserved = setup.api.activities.create(friendly_name="Reserved", available=False)
        busy = setup.api.activities.create(friendly_name="Busy", available=False)
        queue = setup.queue(
            "Q", reservation_activity_sid=reserved.sid, assignment_activity_sid=busy.sid
        )
        setup.workflow({"filters": [], "default_filter": {"queue": queue.sid}})
        worker = setup.worker("Solo")
        first = setup.task()
        assert setup.api.workers(worker.sid).fetch().activity_name == "Reserved"
        [reservation] = setup.reservations(first.sid)
        setup.api.tasks(first.sid).reservations(reservation.sid).update(
            reservation_status="accepted"
        )
        assert setup.api.workers(worker.sid).fetch().activity_name == "Busy"
        second = setup.task()
        assert second.assignment_status == "pending"
        setup.api.tasks(first.sid).update(assignment_status="completed")
        setup.api.workers(worker.sid).update(activity_sid=setup.activities["Available"])
        assert setup.api.tasks(second.sid).fetch().assignment_status == "reserved"

    def test_worker_holds_one_task_at_a_time(self, client: Client, http: httpx.Client) -> None:
        setup = make_setup(client, http, multi_task_enabled=False)
        single_queue(setup)
        worker = setup.worker("Solo")
        setup.api.workers(worker.sid).worker_channels("default").update(capacity=5)
        tasks = [setup.task() for _ in range(2)]
        assert [t.assignment_status for t in tasks] == ["reserved", "pending"]


class TestWorkflowSteps:
    def test_escalation_across_three_targets(self, setup: Setup) -> None:
        tier1 = setup.queue("Tier 1", "level == 1")
        tier2 = setup.queue("Tier 2", "level == 2")
        tier3 = setup.queue("Tier 3", "level == 3")
        setup.workflow(
            {
                "filters": [
                    {
                        "expression": "1==1",
                        "targets": [
                            {"queue": tier1.sid, "timeout": 10},
                            {"queue": tier2.sid, "timeout": 10, "priority": 5},
                            {"queue": tier3.sid, "timeout": 10},
                        ],
                    }
                ]
            }
        )
        task = setup.task()
        assert task.task_queue_sid == tier1.sid
        setup.advance(10)
        moved = setup.api.tasks(task.sid).fetch()
        assert (moved.task_queue_sid, moved.priority) == (tier2.sid, 5)
        setup.advance(10)
        assert setup.api.tasks(task.sid).fetch().task_queue_sid == tier3.sid
        worker = setup.worker("Expert", {"level": 3})
        assert setup.reservations(task.sid)[0].worker_sid == worker.sid
        setup.advance(10)
        final = setup.api.tasks(task.sid).fetch()
        assert (final.assignment_status, final.reason) == (
            "canceled",
            "Task canceled on Workflow timeout",
        )
        assert setup.reservations(task.sid)[0].reservation_status == "canceled"
        types = [e.event_type for e in setup.events(task_sid=task.sid)]
        assert types.count("task-queue.timeout") == 3
        assert types.count("task-queue.moved") == 2
        assert "workflow.timeout" in types

    def test_step_timeouts_are_cumulative_task_age(self, setup: Setup) -> None:
        q1, q2 = setup.queue("Q1"), setup.queue("Q2")
        setup.workflow(
            {
                "filters": [
                    {
                        "expression": "1==1",
                        "targets": [
                            {"queue": q1.sid, "timeout": 10},
                            {"queue": q2.sid, "timeout": 10},
                        ],
                    }
                ]
            }
        )
        worker = setup.worker("Alice")
        task = setup.task()
        setup.advance(3)
        [reservation] = setup.reservations(task.sid)
        setup.api.workers(worker.sid).reservations(reservation.sid).update(
            reservation_status="rejected", worker_activity_sid=setup.activities["Offline"]
        )
        setup.advance(7)  # t=10: Q1's step ends
        assert setup.api.tasks(task.sid).fetch().task_queue_sid == q2.sid
        setup.advance(9)  # t=19: still in Q2 (deadline t=20)
        assert setup.api.tasks(task.sid).fetch().assignment_status == "pending"
        setup.advance(1)
        assert setup.api.tasks(task.sid).fetch().assignment_status == "canceled"

    def test_skip_if_skips_a_step_without_available_workers(self, setup: Setup) -> None:
        primary = setup.queue("Primary", "team == 'a'")
        backup = setup.queue("Backup", "team == 'b'")
        setup.workflow(
            {
                "filters": [
                    {
                        "expression": "1==1",
                        "targets": [
                            {"queue": primary.sid, "skip_if": "workers.available == 0"},
                            {"queue": backup.sid},
                        ],
                    }
                ]
            }
        )
        setup.worker("Away A", {"team": "a"}, activity="Offline")
        b = setup.worker("B", {"team": "b"})
        task = setup.task()
        assert task.task_queue_sid == backup.sid
        assert setup.reservations(task.sid)[0].worker_sid == b.sid

    def test_skip_if_not_applied_when_someone_can_take_it(self, setup: Setup) -> None:
        primary = setup.queue("Primary")
        backup = setup.queue("Backup")
        setup.workflow(
            {
                "filters": [
                    {
                        "expression": "1==1",
                        "targets": [
                            {"queue": primary.sid, "skip_if": "1==1"},
                            {"queue": backup.sid},
                        ],
                    }
                ]
            }
        )
        setup.worker("Ready")
        assert setup.task().task_queue_sid == primary.sid

    def test_all_steps_skipped_falls_through_to_default_filter(self, setup: Setup) -> None:
        primary = setup.queue("Primary", "team == 'a'")
        fallback = setup.queue("Fallback", "team == 'z'")
        setup.workflow(
            {
                "filters": [
                    {
                        "expression": "1==1",
                        "targets": [{"queue": primary.sid, "skip_if": "workers.available == 0"}],
                    }
                ],
                "default_filter": {"queue": fallback.sid},
            }
        )
        assert setup.task().task_queue_sid == fallback.sid

    def test_target_expression_and_order_by(self, setup: Setup) -> None:
        queue = setup.queue("Linguists")
        setup.workflow(
            {
                "filters": [
                    {
                        "expression": "1==1",
                        "targets": [
                            {
                                "queue": queue.sid,
                                "expression": "task.language IN worker.languages",
                                "order_by": "worker.level DESC",
                            },
                        ],
                    }
                ]
            }
        )
        setup.worker("Junior", {"languages": ["es"], "level": 1})
        senior = setup.worker("Senior", {"languages": ["es"], "level": 9})
        setup.worker("French", {"languages": ["fr"], "level": 10})
        task = setup.task({"language": "es"})
        assert setup.reservations(task.sid)[0].worker_sid == senior.sid

    def test_known_worker(self, setup: Setup) -> None:
        queue = setup.queue("Everyone")
        setup.workflow(
            {
                "filters": [
                    {
                        "expression": "1==1",
                        "targets": [{"queue": queue.sid, "known_worker_sid": "task.agent"}],
                    }
                ]
            }
        )
        setup.worker("First")
        wanted = setup.worker("Wanted")
        task = setup.task({"agent": wanted.sid})
        assert [r.worker_sid for r in setup.reservations(task.sid)] == [wanted.sid]
        by_name_queue = setup.queue("By name")
        setup.workflow(
            {
                "filters": [
                    {
                        "expression": "1==1",
                        "targets": [
                            {
                                "queue": by_name_queue.sid,
                                "known_worker_friendly_name": "task.agent_name",
                            }
                        ],
                    }
                ]
            }
        )

    def test_reevaluate_tasks_on_workflow_update(self, setup: Setup) -> None:
        old, new = setup.queue("Old", "x == 1"), setup.queue("New", "x == 2")
        workflow = setup.workflow({"filters": [], "default_filter": {"queue": old.sid}})
        task = setup.task()
        setup.api.workflows(workflow.sid).update(
            configuration=json.dumps(
                {"task_routing": {"filters": [], "default_filter": {"queue": new.sid}}}
            ),
            re_evaluate_tasks="true",
        )
        assert setup.api.tasks(task.sid).fetch().task_queue_sid == new.sid

    def test_attribute_update_reevaluates_pending_task(self, setup: Setup) -> None:
        en, es = setup.queue("English"), setup.queue("Spanish")
        setup.workflow(
            {
                "filters": [
                    {"expression": "lang == 'en'", "targets": [{"queue": en.sid}]},
                    {"expression": "lang == 'es'", "targets": [{"queue": es.sid}]},
                ]
            }
        )
        task = setup.task({"lang": "en"})
        updated = setup.api.tasks(task.sid).update(attributes=json.dumps({"lang": "es"}))
        assert updated.task_queue_sid == es.sid


class TestQueueBehaviour:
    def test_max_reserved_workers_and_rescind(self, setup: Setup) -> None:
        single_queue(setup, max_reserved_workers=3)
        workers = [setup.worker(f"W{i}") for i in range(4)]
        task = setup.task()
        pending = setup.reservations(task.sid, "pending")
        assert len(pending) == 3
        winner = pending[1]
        setup.api.tasks(task.sid).reservations(winner.sid).update(reservation_status="accepted")
        statuses = sorted(r.reservation_status for r in setup.reservations(task.sid))
        assert statuses == ["accepted", "rescinded", "rescinded"]
        assert {w.sid for w in workers} >= {r.worker_sid for r in setup.reservations(task.sid)}
        loser = next(r for r in pending if r.sid != winner.sid)
        with pytest.raises(TwilioRestException) as excinfo:
            setup.api.tasks(task.sid).reservations(loser.sid).update(reservation_status="accepted")
        assert excinfo.value.status == 400

    def test_lifo_queue_hands_out_the_newest_task_first(self, setup: Setup) -> None:
        single_queue(setup, task_order="LIFO")
        tasks = []
        for i in range(3):
            tasks.append(setup.task({"n": i}))
            setup.advance(1)
        worker = setup.worker("Late")
        assert setup.pending_for(worker.sid)[0].task_sid == tasks[2].sid

    def test_priority_beats_age(self, setup: Setup) -> None:
        single_queue(setup)
        old = setup.task({"n": "old"})
        setup.advance(5)
        urgent = setup.task({"n": "urgent"}, priority=10)
        worker = setup.worker("Alice")
        assert setup.pending_for(worker.sid)[0].task_sid == urgent.sid
        assert old.sid != urgent.sid

    def test_fifo_by_virtual_start_time(self, setup: Setup, live_server) -> None:  # type: ignore[no-untyped-def]
        single_queue(setup)
        first = setup.task({"n": 1})
        setup.advance(5)
        from datetime import timedelta

        earlier = setup.now() - timedelta(hours=1)
        backdated = setup.task({"n": 2}, virtual_start_time=earlier)
        worker = setup.worker("Alice")
        assert setup.pending_for(worker.sid)[0].task_sid == backdated.sid
        assert first.sid != backdated.sid

    def test_direct_routing_to_worker_ignores_capacity(self, setup: Setup) -> None:
        single_queue(setup)
        away = setup.worker("Away", activity="Offline")
        task = setup.task(routing_target=away.sid)
        assert (task.routing_target, task.ignore_capacity) == (away.sid, True)
        assert setup.reservations(task.sid)[0].worker_sid == away.sid
        strict = setup.task(routing_target=away.sid, ignore_capacity=False)
        assert strict.assignment_status == "pending"

    def test_direct_routing_to_queue(self, setup: Setup) -> None:
        _, _ = single_queue(setup)
        other = setup.queue("Direct")
        task = setup.task(routing_target=other.sid)
        assert (task.task_queue_sid, task.workflow_sid) == (other.sid, None)


class TestIllegalTransitions:
    def test_each_is_a_400_and_changes_nothing(self, setup: Setup, http: httpx.Client) -> None:
        single_queue(setup)
        worker = setup.worker("Alice")
        task = setup.task()
        [reservation] = setup.reservations(task.sid)
        base = f"/v1/Workspaces/{setup.ws.sid}/Tasks/{task.sid}"
        before = http.get(base).json()
        for data in (
            {"AssignmentStatus": "wrapping"},
            {"AssignmentStatus": "completed"},
            {"AssignmentStatus": "assigned"},
            {"AssignmentStatus": "bogus"},
            {"Priority": "-1"},
            {"Attributes": "not json"},
        ):
            response = http.post(base, data=data)
            assert response.status_code == 400, data
            assert response.json()["code"] == 20001
        completing = http.post(base, data={"AssignmentStatus": "completed"}).json()["message"]
        assert completing == (
            f"Cannot complete task {task.sid} in workspace {setup.ws.sid} for account {setup.ws.account_sid} "
            "because it is not currently assigned."
        )
        after = http.get(base).json()
        assert {k: v for k, v in after.items() if k != "age"} == {
            k: v for k, v in before.items() if k != "age"
        }
        res = f"{base}/Reservations/{reservation.sid}"
        for data, code in (
            ({"ReservationStatus": "completed"}, 20001),
            ({"ReservationStatus": "timeout"}, 20001),
            ({"ReservationStatus": "sideways"}, 20001),
            ({"Instruction": "teleport"}, 55555),
            ({"Instruction": "dequeue"}, 40140),
            ({"Instruction": "call", "CallFrom": "+15550100"}, 40110),
            (
                {
                    "Instruction": "redirect",
                    "RedirectCallSid": "nope",
                    "RedirectUrl": "https://x.test",
                },
                40121,
            ),
            ({"Instruction": "conference"}, 40142),
            ({"Instruction": "supervise", "Supervisor": worker.sid}, 40146),
            ({"ReservationStatus": "rejected", "WorkerActivitySid": "WA" + "0" * 32}, 20001),
        ):
            response = http.post(res, data=data)
            assert (response.status_code, response.json()["code"]) == (400, code), data
        assert http.get(res).json()["reservation_status"] == "pending"
        http.post(res, data={"ReservationStatus": "accepted"})
        for data, code in (
            ({"Instruction": "call", "CallFrom": "+1", "CallUrl": "https://x.test"}, 40114),
            ({"Instruction": "redirect"}, 40123),
            ({"Instruction": "dequeue"}, 40135),
            ({"Instruction": "conference"}, 40136),
            ({"ReservationStatus": "rejected"}, 20001),
        ):
            response = http.post(res, data=data)
            assert (response.status_code, response.json()["code"]) == (400, code), data
        cancel = http.post(base, data={"AssignmentStatus": "canceled"})
        assert cancel.status_code == 400
        assert cancel.json()["message"].endswith("because it is not pending or reserved.")
        assert http.get(base).json()["assignment_status"] == "assigned"

    def test_instructions_on_an_enqueued_call_task(self, setup: Setup, http: httpx.Client) -> None:
        single_queue(setup, max_reserved_workers=2)
        setup.worker("Alice", {"contact_uri": "client:alice"})
        setup.worker("Bob", {"contact_uri": "client:bob"})
        task = setup.task({"call_sid": "CA" + "1" * 32})
        first, second = setup.reservations(task.sid)
        response = http.post(
            f"/v1/Workspaces/{setup.ws.sid}/Tasks/{task.sid}/Reservations/{first.sid}",
            data={
                "Instruction": "dequeue",
                "DequeueFrom": "+15550100",
                "DequeueStatusCallbackEvent": ["ringing", "answered"],
            },
        )
        assert response.status_code == 200
        assert response.json()["reservation_status"] == "accepted"
        attributes = json.loads(setup.api.tasks(task.sid).fetch().attributes)
        assert attributes["worker_call_sid"].startswith("CA")
        assert (
            setup.api.tasks(task.sid).reservations(second.sid).fetch().reservation_status
            == "rescinded"
        )

    def test_call_without_accept_leaves_reservation_pending(
        self, setup: Setup, http: httpx.Client
    ) -> None:
        single_queue(setup)
        setup.worker("Alice", {"contact_uri": "client:alice"})
        task = setup.task()
        [reservation] = setup.reservations(task.sid)
        url = f"/v1/Workspaces/{setup.ws.sid}/Tasks/{task.sid}/Reservations/{reservation.sid}"
        response = http.post(
            url,
            data={
                "Instruction": "call",
                "CallFrom": "+15550100",
                "CallUrl": "https://example.com/twiml",
            },
        )
        assert response.json()["reservation_status"] == "pending"
        response = http.post(
            url,
            data={
                "Instruction": "redirect",
                "RedirectCallSid": "CA" + "2" * 32,
                "RedirectUrl": "https://example.com/twiml",
                "RedirectAccept": "true",
            },
        )
        assert response.json()["reservation_status"] == "accepted"

    def test_etag_and_if_match(self, setup: Setup, http: httpx.Client) -> None:
        single_queue(setup)
        task = setup.task()
        base = f"/v1/Workspaces/{setup.ws.sid}/Tasks/{task.sid}"
        etag = http.get(base).headers["etag"]
        stale = http.post(base, data={"Priority": "3"}, headers={"If-Match": str(int(etag) - 1)})
        assert (stale.status_code, stale.json()["code"]) == (412, 20412)
        fresh = http.post(base, data={"Priority": "3"}, headers={"If-Match": etag})
        assert fresh.status_code == 200
        assert int(fresh.headers["etag"]) == int(etag) + 1
        assert (
            setup.api.tasks(task.sid).update(priority=4, if_match=fresh.headers["etag"]).priority
            == 4
        )


class TestConcurrency:
    def test_concurrent_accepts_leave_one_winner(self, setup: Setup, live_server, account) -> None:  # type: ignore[no-untyped-def]
        single_queue(setup, max_reserved_workers=5)
        for i in range(5):
            setup.worker(f"W{i}")
        task = setup.task()
        pending = setup.reservations(task.sid, "pending")
        assert len(pending) == 5
        results: list[int] = []

        def accept(sid: str) -> None:
            with httpx.Client(
                base_url=live_server.url, auth=(account.sid, account.token), timeout=30
            ) as c:
                r = c.post(
                    f"/v1/Workspaces/{setup.ws.sid}/Tasks/{task.sid}/Reservations/{sid}",
                    data={"ReservationStatus": "accepted"},
                )
                results.append(r.status_code)

        threads = [threading.Thread(target=accept, args=(r.sid,)) for r in pending]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [200, 400, 400, 400, 400]
        statuses = sorted(r.reservation_status for r in setup.reservations(task.sid))
        assert statuses == ["accepted", "rescinded", "rescinded", "rescinded", "rescinded"]
        assert setup.api.tasks(task.sid).fetch().assignment_status == "assigned"


class TestDeletion:
    def test_channel_with_active_tasks_cannot_be_deleted(self, setup: Setup) -> None:
        single_queue(setup)
        email = setup.api.task_channels.create(friendly_name="Email", unique_name="email")
        task = setup.task(task_channel="email")
        with pytest.raises(TwilioRestException) as excinfo:
            setup.api.task_channels("email").delete()
        assert (excinfo.value.status, excinfo.value.code) == (400, 20001)
        setup.api.tasks(task.sid).update(assignment_status="canceled")
        assert setup.api.task_channels(email.sid).delete() is True

    def test_deleting_a_workspace_removes_tasks_and_reservations(self, setup: Setup, http: httpx.Client) -> None:
        single_queue(setup)
        worker = setup.worker("Alice")
        task = setup.task()
        [reservation] = setup.reservations(task.sid)
        setup.api.tasks(task.sid).reservations(reservation.sid).update(reservation_status="accepted")
        assert setup.api.delete() is True
        base = f"/v1/Workspaces/{setup.ws.sid}"
        for path in (base, f"{base}/Tasks/{task.sid}", f"{base}/Workers/{worker.sid}"):
            assert http.get(path).status_code == 404

    def test_deleting_a_worker_with_a_pending_offer_reroutes_the_task(self, setup: Setup) -> None:
        single_queue(setup)
        alice = setup.worker("Alice")
        setup.advance(1)
        bob = setup.worker("Bob")
        task = setup.task()
        assert setup.reservations(task.sid)[0].worker_sid == alice.sid
        assert setup.api.workers(alice.sid).delete() is True
        assert [r.worker_sid for r in setup.reservations(task.sid, "pending")] == [bob.sid]
        [accepted] = setup.reservations(task.sid, "pending")
        setup.api.tasks(task.sid).reservations(accepted.sid).update(reservation_status="accepted")
        with pytest.raises(TwilioRestException) as excinfo:
            setup.api.workers(bob.sid).delete()
        assert excinfo.value.status == 400


class TestQueueMembership:
    """Queue members are kept as rows: they must follow worker and queue changes."""

    def _queue_flow(self, setup: Setup, target_workers: str) -> Any:
        queue = setup.queue("Q", target_workers)
        setup.workflow({"filters": [], "default_filter": {"queue": queue.sid}})
        return queue

    def test_worker_joins_a_queue_when_its_attributes_change(self, setup: Setup) -> None:
        self._queue_flow(setup, "skills HAS 'billing'")
        worker = setup.worker("Alice", {"skills": ["sales"]})
        task = setup.task()
        assert setup.reservations(task.sid) == []
        setup.api.workers(worker.sid).update(attributes=json.dumps({"skills": ["billing"]}))
        assert [r.worker_sid for r in setup.reservations(task.sid)] == [worker.sid]

    def test_worker_leaves_a_queue_when_its_attributes_change(self, setup: Setup) -> None:
        self._queue_flow(setup, "skills HAS 'billing'")
        worker = setup.worker("Alice", {"skills": ["billing"]}, activity="Offline")
        setup.api.workers(worker.sid).update(attributes=json.dumps({"skills": []}))
        task = setup.task()
        setup.api.workers(worker.sid).update(activity_sid=setup.activities["Available"])
        assert setup.reservations(task.sid) == []

    def test_queue_expression_change_selects_new_members(self, setup: Setup) -> None:
        queue = self._queue_flow(setup, "level > 5")
        worker = setup.worker("Alice", {"level": 3})
        task = setup.task()
        assert setup.reservations(task.sid) == []
        setup.api.task_queues(queue.sid).update(target_workers="level > 1")
        assert [r.worker_sid for r in setup.reservations(task.sid)] == [worker.sid]

    def test_friendly_name_expression_follows_renames(self, setup: Setup) -> None:
        self._queue_flow(setup, "friendly_name == 'Bob'")
        worker = setup.worker("Alice", activity="Offline")
        task = setup.task()
        setup.api.workers(worker.sid).update(friendly_name="Bob")
        setup.api.workers(worker.sid).update(activity_sid=setup.activities["Available"])
        assert [r.worker_sid for r in setup.reservations(task.sid)] == [worker.sid]

    def test_activity_expression_is_evaluated_live(self, setup: Setup) -> None:
        self._queue_flow(setup, "worker.activity_name == 'Available'")
        worker = setup.worker("Alice", activity="Offline")
        task = setup.task()
        assert setup.reservations(task.sid) == []
        setup.api.workers(worker.sid).update(activity_sid=setup.activities["Available"])
        assert [r.worker_sid for r in setup.reservations(task.sid)] == [worker.sid]

    def test_freed_worker_takes_the_oldest_task_of_its_own_queues(self, setup: Setup) -> None:
        sales = setup.queue("Sales", "skill == 'sales'")
        support = setup.queue("Support", "skill == 'support'")
        setup.workflow(
            {
                "filters": [
                    {"expression": "type == 'sales'", "targets": [{"queue": sales.sid}]},
                    {"expression": "type == 'support'", "targets": [{"queue": support.sid}]},
                ]
            }
        )
        first_support = setup.task({"type": "support"})
        setup.advance(1)
        setup.task({"type": "sales"})
        setup.advance(1)
        setup.task({"type": "support"})
        worker = setup.worker("Alice", {"skill": "support"}, activity="Offline")
        setup.api.workers(worker.sid).update(activity_sid=setup.activities["Available"])
        assert [r.task_sid for r in setup.pending_for(worker.sid)] == [first_support.sid]
