"""The task lifecycle: every task, reservation and worker state change, with its events and timers.

`routing.engine` decides (which step a task takes, which worker a task is offered to); this package
applies. Imports point one way, from the bottom of this list up:

- `events`: task and reservation events.
- `workers`: a worker's activity changes and worker events.
- `offers`: reservation rows (offer, end an offer, move reservations with their task); no routing.
- `dispatch`: `route` applies the engine's offers; `cancel` (routing may cancel a task).
- `workflow`: a task's place in its workflow (steps, step timeouts, re-evaluation).
- `tasks`: a task entering, re-routed, wrapping, completed, deleted, expired.
- `reservations`: accept, reject, time out, wrap, complete; withdrawing a worker's offers.

The resource services (`tasks`, `reservations`, `workers`) and the scheduler's timers call this
package; nothing here imports them.
"""
