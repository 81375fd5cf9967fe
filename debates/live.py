"""Realtime: group names, message types, coalesced tally snapshots, per-process fan-out, resync.

INTERIM SKELETON (foundation commit): the public API below is the contract other modules call.
The live-voting work replaces the bodies with the real implementation.
"""

from __future__ import annotations


def event_group(event_id: int) -> str:
    return f"event-{event_id}"


def room_group(room_id: int) -> str:
    return f"room-{room_id}"


def hosts_group(event_id: int) -> str:
    return f"hosts-{event_id}"


def tally_changed(poll_id: int) -> None:
    """A poll's tally or state changed (after commit): a coalesced snapshot goes out."""


def event_changed(event_id: int) -> None:
    """Phase, round, timer, message or presence changed (after commit): state snapshot goes out."""


def send(group: str, message: dict) -> None:
    """A JSON-safe dict to every socket in a group, in every process (after commit)."""
