"""Announcing a change to the sockets, only once the transaction has committed."""

from __future__ import annotations

from django.db import transaction

from debates import live


def notify(group: str, message: dict) -> None:
    """Sends after commit, so nobody hears of a change that was rolled back."""
    transaction.on_commit(lambda: live.send(group, message))


def notify_event_changed(event_id: int) -> None:
    transaction.on_commit(lambda: live.event_changed(event_id))
