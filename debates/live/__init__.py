"""Realtime: versioned snapshots, coalesced, fanned out once per process. Knows nothing of the
debate: it imports nothing from debates.* outside this package, nor events.

Read this first if you touch anything live; each module's docstring is the protocol note of
its part:

    protocol   every message type, the close codes, the group names (the wire contract)
    announce   what the debate calls after commit, from any thread (tally_changed, send, ...)
    hub        per-process registry of sockets, coalescing, fan-out, connect and resync
    writer     socket votes: one writer per process, answers only after commit
    relay      several processes: Redis pub/sub, control messages, presence
    hosts      host rights ending on open sockets (the control message "hosts.changed")
    budget     how many frames one socket may send (token bucket, close 4429)
    transport  every third-party internal (daphne, Twisted, asgiref, Django), checked and loud
    plugs      what the debate plugs in: snapshot readers, vote writer, host checker

The database is the source of truth: a socket message carries a snapshot read from the
database with a version, never a change (protocol). The debate plugs its readers in
(debates.realtime, from DebatesConfig.ready) and its services announce on commit (announce).

Never one message per action per listener: a thousand votes in a second cost four snapshot
reads and four frames per socket (hub), and every socket message bounds its work per attendee.
"""

from __future__ import annotations

from debates.live import hosts
from debates.live.announce import (
    attendees_connected,
    background,
    changed,
    control,
    event_changed,
    send,
    tally_changed,
    vote_submit,
    votes_queued,
)
from debates.live.hub import (
    EVENT_INTERVAL,
    TALLY_INTERVAL,
    connect,
    control_register,
    disconnect,
    members,
    shutdown,
    stats,
    subscribe,
    unsubscribe,
)
from debates.live.plugs import Connection, Fanout, Holder, fanout_plug, plug, plug_kind
from debates.live.protocol import (
    CLOSE_BAD_MESSAGE,
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_TOO_MANY_FRAMES,
    MAX_FRAME,
    REF_MAX,
    Delivery,
    encode,
    event_group,
    hosts_group,
    room_group,
)
from debates.live.relay import REDIS_CHANNEL, presence_key
from debates.live.transport import DAPHNE_PROTOCOL, daphne_protocol_middleware

__all__ = [
    "CLOSE_BAD_MESSAGE",
    "CLOSE_FORBIDDEN",
    "CLOSE_NOT_FOUND",
    "CLOSE_TOO_MANY_FRAMES",
    "DAPHNE_PROTOCOL",
    "EVENT_INTERVAL",
    "MAX_FRAME",
    "REDIS_CHANNEL",
    "REF_MAX",
    "TALLY_INTERVAL",
    "Connection",
    "Delivery",
    "Fanout",
    "Holder",
    "attendees_connected",
    "background",
    "changed",
    "connect",
    "control",
    "control_register",
    "daphne_protocol_middleware",
    "disconnect",
    "encode",
    "event_changed",
    "event_group",
    "fanout_plug",
    "hosts",
    "hosts_group",
    "members",
    "plug",
    "plug_kind",
    "presence_key",
    "room_group",
    "send",
    "shutdown",
    "stats",
    "subscribe",
    "tally_changed",
    "unsubscribe",
    "vote_submit",
    "votes_queued",
]
