"""Fixtures for the live debate: what debates.live was asked to broadcast, and rooms."""

from __future__ import annotations

import pytest

from debates import live


class Sent(list):
    """Messages the services handed to debates.live.send, as (group, message) pairs."""

    def of_type(self, message_type: str) -> list[tuple[str, dict]]:
        return [(group, message) for group, message in self if message["type"] == message_type]

    def to(self, group: str) -> list[dict]:
        return [message for g, message in self if g == group]


@pytest.fixture
def sent(monkeypatch) -> Sent:
    """Records live.send and live.event_changed calls. They happen after commit: run the
    service inside `with django_capture_on_commit_callbacks(execute=True):` to see them."""
    record = Sent()
    monkeypatch.setattr(live, "send", lambda group, message: record.append((group, message)))
    monkeypatch.setattr(
        live,
        "event_changed",
        lambda event_id: record.append((live.event_group(event_id), {"type": "event.changed"})),
    )
    return record
