"""Host rights ending mid-connection: the realtime half. Knows nothing of the debate.

A socket's host rights are read once, at connect (the debate's connection reader), and a host
socket hears hidden results (counts and turnout) on `hosts_group`. When rights may have ended,
the debate announces it after commit with `hosts_changed(event_id=...)` (the host link rotated,
the organiser or a host/moderator speaker changed) or `hosts_changed(user_id=...)` (a user
deactivated, no longer superuser, deleted): ONE control message per change, which reaches every
process (debates.live.control, through debates.live.relay). Each process re-checks its own host
sockets concerned with the checker the debate plugged in (`plug(hosts=...)`), in ONE database
call per event, and demotes
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
from typing import Any

from channels.db import database_sync_to_async

from debates.live import hub, plugs, protocol
from debates.live.announce import control
from debates.live.plugs import Holder

log = logging.getLogger(__name__)

CONTROL = "hosts.changed"
RETRY_AFTER = 0.5  # seconds before the one retry of a failed re-check


def hosts_changed(*, event_id: int | None = None, user_id: int | None = None) -> None:
    """Host rights in one event, or a user's in every event, may have ended (call after commit)."""
    control(CONTROL, {"event": event_id, "user": user_id})


def _holder(consumer: Any) -> Holder:
    user = consumer.scope.get("user")
    session = consumer.scope.get("session")
    user_id = user.pk if user is not None and user.is_authenticated else None
    return user_id, getattr(session, "session_key", None) if session is not None else None


def _on_hosts_changed(here: hub.Hub, payload: dict[str, Any]) -> None:
    """On the loop, for this process's sockets: which to re-check (now), then re-check them."""
    event_id, user_id = payload.get("event"), payload.get("user")
    # A socket connecting right now read its rights before the change was committed:
    # hub.connect reads them again when a delivery happened meanwhile; this counts as one.
    here.deliveries += 1
    events = [event_id] if event_id is not None else here.events_here()
    for event in events:
        sockets = [
            consumer
            for consumer in here.members(protocol.hosts_group(event))
            if user_id is None or _holder(consumer)[0] == user_id
        ]
        if sockets:
            here.spawn(recheck(event, sockets))


async def recheck(event_id: int, sockets: list[Any]) -> None:
    """Re-checks these host sockets of an event in one call, and demotes those that lost it."""
    checker = plugs.plugged.hosts
    if checker is None:
        log.error("live: no host checker registered; host sockets of event %s kept", event_id)
        return
    holders = [_holder(consumer) for consumer in sockets]
    check = database_sync_to_async(checker)
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
    await hub.unsubscribe(consumer, protocol.hosts_group(event_id))
    try:
        await consumer.send(text_data=protocol.encode(protocol.host_revoked(event_id)))
    except Exception:
        log.debug("live: host.revoked to a closed socket dropped", exc_info=True)


hub.control_register(CONTROL, _on_hosts_changed)
