"""Statistics: real-time figures from current state, cumulative figures from the Event log."""
