"""Becoming a host through the event's secret host link (who may host is selectors.can_host)."""

from __future__ import annotations

import hmac
from collections.abc import MutableMapping
from typing import Any

from debates import selectors
from events.models import Event


def host_link_redeem(*, event: Event, key: str, session: MutableMapping[str, Any]) -> bool:
    """Marks the session as a host of the event if `key` is its secret host link key.

    Writes only to the session (no database row); can_host reads what it wrote.
    Compared in constant time, so the key cannot be guessed a character at a time.
    """
    if not key or not hmac.compare_digest(key.encode(), event.host_key.encode()):
        return False
    keys = dict(selectors.session_host_keys(session))
    keys[str(event.pk)] = event.host_key
    session[selectors.HOST_SESSION_KEY] = keys
    # A browser that becomes a host gets a fresh session id (no fixation of a shared link).
    if hasattr(session, "cycle_key"):
        session.cycle_key()
    return True
