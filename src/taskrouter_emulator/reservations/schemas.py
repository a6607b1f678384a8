"""Reservation update parameters (status changes and every instruction) and the response body."""

from __future__ import annotations

from pydantic import BaseModel

from taskrouter_emulator.api.forms import TwilioBool, TwilioParams
from taskrouter_emulator.api.resources import Date, Resource
from taskrouter_emulator.api.urls import workspace_path
from taskrouter_emulator.models import Reservation, Worker


class ReservationUpdate(TwilioParams):
    reservation_status: str | None = None
    worker_activity_sid: str | None = None
    instruction: str | None = None
    dequeue_post_work_activity_sid: str | None = None
    dequeue_from: str | None = None
    dequeue_record: str | None = None
    dequeue_timeout: int | None = None
    dequeue_to: str | None = None
    dequeue_status_callback_url: str | None = None
    dequeue_status_callback_event: list[str] | None = None
    call_from: str | None = None
    call_record: str | None = None
    call_timeout: int | None = None
    call_to: str | None = None
    call_url: str | None = None
    call_status_callback_url: str | None = None
    call_accept: TwilioBool | None = None
    redirect_call_sid: str | None = None
    redirect_accept: TwilioBool | None = None
    redirect_url: str | None = None
    to: str | None = None
    from_: str | None = None
    status_callback: str | None = None
    status_callback_method: str | None = None
    status_callback_event: list[str] | None = None
    timeout: int | None = None
    record: TwilioBool | None = None
    muted: TwilioBool | None = None
    beep: str | None = None
    start_conference_on_enter: TwilioBool | None = None
    end_conference_on_exit: TwilioBool | None = None
    wait_url: str | None = None
    wait_method: str | None = None
    early_media: TwilioBool | None = None
    max_participants: int | None = None
    conference_status_callback: str | None = None
    conference_status_callback_method: str | None = None
    conference_status_callback_event: list[str] | None = None
    conference_record: str | None = None
    conference_trim: str | None = None
    recording_channels: str | None = None
    recording_status_callback: str | None = None
    recording_status_callback_method: str | None = None
    conference_recording_status_callback: str | None = None
    conference_recording_status_callback_method: str | None = None
    region: str | None = None
    sip_auth_username: str | None = None
    sip_auth_password: str | None = None
    post_work_activity_sid: str | None = None
    supervisor_mode: str | None = None
    supervisor: str | None = None
    end_conference_on_customer_exit: TwilioBool | None = None
    beep_on_customer_entrance: TwilioBool | None = None
    jitter_buffer_size: str | None = None

    def sent(self) -> dict[str, object]:
        """Return the parameters the client actually sent, by their Twilio names."""
        return {
            (type(self).model_fields[name].alias or name): getattr(self, name)
            for name in sorted(self.model_fields_set)
        }


# `From` is a Python keyword; pydantic's PascalCase alias of `from_` would be `From_`.
ReservationUpdate.model_fields["from_"].alias = "From"
ReservationUpdate.model_rebuild(force=True)


class ReservationFilter(TwilioParams):
    reservation_status: str | None = None
    worker_sid: str | None = None


class ReservationLinks(BaseModel):
    task: str
    worker: str
    workspace: str


class ReservationResource(Resource):
    account_sid: str
    date_created: Date
    date_updated: Date
    reservation_status: str
    sid: str
    task_sid: str
    worker_name: str
    worker_sid: str
    workspace_sid: str
    url: str
    links: ReservationLinks

    @classmethod
    def build(
        cls, reservation: Reservation, *, worker: Worker, base_url: str, worker_path: bool = False
    ) -> ReservationResource:
        """Serialise a reservation; its `url` follows the path it was read through."""
        workspace_url = base_url + workspace_path(reservation.workspace_sid)
        task_url = f"{workspace_url}/Tasks/{reservation.task_sid}"
        worker_url = f"{workspace_url}/Workers/{reservation.worker_sid}"
        parent = worker_url if worker_path else task_url
        return cls(
            account_sid=reservation.account_sid,
            date_created=reservation.date_created,
            date_updated=reservation.date_updated,
            reservation_status=reservation.reservation_status,
            sid=reservation.sid,
            task_sid=reservation.task_sid,
            worker_name=worker.friendly_name,
            worker_sid=reservation.worker_sid,
            workspace_sid=reservation.workspace_sid,
            url=f"{parent}/Reservations/{reservation.sid}",
            links=ReservationLinks(task=task_url, worker=worker_url, workspace=workspace_url),
        )
