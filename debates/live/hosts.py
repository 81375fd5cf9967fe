"""Host rights ending mid-connection: the realtime half. Knows nothing of the debate.

A socket's host rights are read once, at connect (debates.live.connection_read), and a host
socket hears hidden results (counts and turnout) on `hosts_group`. When rights may have ended,
the debate announces it after commit with `hosts_changed(event_id=...)` (the host link rotated,
the organiser or a host/moderator speaker changed) or `hosts_changed(user_id=...)` (a user
deactivated, no longer superuser, deleted): ONE control message per change, which reaches every
process (debates.live.control). Each process re-checks its own host sockets concerned with the
checker the debate registered (`checker_register`), in ONE database call per event, and demotes
every socket that is no longer a host:

- it leaves `hosts_group` at once (no more counts of a hidden poll; a fan-out under way skips it),
- its `Connection.host` turns False (a host command from it is closed with 4403),
- it is sent `{"type": "host.revoked", "event": N}` (live.js on the console says the host link
  changed and stops reconnecting).

It stays open as an audience socket: the public tallies and the event state still reach it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async

from debates import live

log = logging.getLogger(__name__)

CONTROL = "hosts.changed"
HOST_REVOKED = "host.revoked"
RETRY_AFTER = 0.5  # seconds before the one retry of a failed re-check

# A holder is what a socket is: (user id or None, session key or None).
Holder = tuple[int | None, str | None]
# Sync, one call per event: whether each holder may still host the event.
Checker = Callable[[int, list[Holder]], list[bool]]

_checker: Checker | None = None


def checker_register(checker: Checker) -> None:
    """The debate's rule of who hosts an event (registered in DebatesConfig.ready)."""
    global _checker
    _checker = checker


def hosts_changed(*, event_id: int | None = None, user_id: int | None = None) -> None:
    """Host rights in one event, or a user's in every event, may have ended (call after commit)."""
    live.control(CONTROL, {"event": event_id, "user": user_id})


def _holder(consumer: Any) -> Holder:
    user = consumer.scope.get("user")
    session = consumer.scope.get("session")
    user_id = user.pk if user is not None and user.is_authenticated else None
    return user_id, getattr(session, "session_key", None) if session is not None else None


def _on_hosts_changed(hub: Any, payload: dict[str, Any]) -> None:
    """On the loop, for this process's sockets: which to re-check (now), then re-check them."""
    event_id, user_id = payload.get("event"), payload.get("user")
    # A socket connecting right now read its rights before the change was committed:
    # live.connect reads them again when a delivery happened meanwhile; this counts as one.
    hub.deliveries += 1
    events = [event_id] if event_id is not None else hub.events_here()
    for event in events:
        sockets = [
            consumer
            for consumer in list(hub.groups.get(live.hosts_group(event), ()))
            if user_id is None or _holder(consumer)[0] == user_id
        ]
        if sockets:
            hub.spawn(_recheck(event, sockets))


async def _recheck(event_id: int, sockets: list[Any]) -> None:
    if _checker is None:
        log.error("live: no host checker registered; host sockets of event %s kept", event_id)
        return
    holders = [_holder(consumer) for consumer in sockets]
    check = database_sync_to_async(_checker)
    try:
        verdicts = await check(event_id, holders)
    except Exception:
        log.warning("live: re-checking hosts of event %s failed; retrying", event_id, exc_info=True)
        await asyncio.sleep(RETRY_AFTER)
        try:
            verdicts = await check(event_id, holders)
        except Exception:
            # Rights that cannot be confirmed are not kept: a reload asks again.
            log.exception("live: re-checking hosts of event %s failed; demoting them", event_id)
            verdicts = [False] * len(sockets)
    for consumer, still_host in zip(sockets, verdicts, strict=True):
        if not still_host:
            await _demote(consumer, event_id)


async def _demote(consumer: Any, event_id: int) -> None:
    connection = getattr(consumer, "connection", None)
    if connection is None or not connection.host:
        return
    connection.host = False
    group = live.hosts_group(event_id)
    await live.unsubscribe(consumer, group)
    layer = getattr(consumer, "channel_layer", None)
    if getattr(consumer, "live_layer_group", None) == group and layer is not None:
        # Bench baseline (PB_FANOUT=group_send): tallies come over the channel layer.
        await layer.group_discard(group, consumer.channel_name)
        consumer.live_layer_group = live.event_group(event_id)
        await layer.group_add(consumer.live_layer_group, consumer.channel_name)
    try:
        await consumer.send(text_data=live.encode({"type": HOST_REVOKED, "event": event_id}))
    except Exception:
        log.debug("live: host.revoked to a closed socket dropped", exc_info=True)


live.control_register(CONTROL, _on_hosts_changed)
