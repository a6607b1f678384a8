"""Outbound webhooks: assignment callbacks and event callbacks, signed, queued and journaled."""
