"""Documented behaviours checked through twilio-python (issue 11): reject order, versions,
re-evaluation on reservation time-out, HTTP conventions, stable paging and bad input."""

from __future__ import annotations

import httpx
import pytest
from twilio.rest import Client

from tests.sdk.routing_helpers import Setup, make_setup, single_queue


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
