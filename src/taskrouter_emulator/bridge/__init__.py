"""The twilio-taskrouter.js event bridge: a WebSocket that pushes a worker's events, and REST over JSON."""
