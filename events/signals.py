"""What `events` announces to the apps built on it, which it must not import."""

from __future__ import annotations

from django.dispatch import Signal

# Sent once an edit of an event's details is committed (events.services.event_update), with
# event_id=...: the debate connects it to its live pages (debates.apps).
event_changed = Signal()
