"""Emulator control tools under `/emulator/…`: reset, snapshots, seeding, fault injection, strict limits."""
