"""The socket protocol: every message type, the close codes, the group names. Nothing else.

Every message a socket is sent is built by one function here from plain values (ids, strings,
numbers, pre-rendered HTML), never from a model instance, and encoded once (`encode`) however
many sockets it goes to. Message `type`s are `<noun>.<past-verb>`.

Snapshots, not changes
    Votes, polls and the event's phase live in the database. A message never carries a change
    ("+1 for"); it carries a *snapshot* read from the database: `tally.updated` holds a poll's
    counts at `Poll.version` (bumped in the transaction of every change), and `phase.changed`
    holds the event's state with `seq` (the time the state was read). A client keeps the highest
    version/seq it has seen and ignores older ones, so reordering, duplicates and a missed
    message are all harmless: the next snapshot repairs the view.

Client to server (debates.consumers validates them; a frame is at most MAX_FRAME characters)
    ping                      answered with pong
    vote.cast {poll, side, ref}   answered after commit (debates.live.writer): vote.acknowledged
                              {ref, poll, side, version}, vote.refused {ref, poll, reason} or, when
                              a newer vote took its place in the queue, vote.replaced {ref, poll}
    host.command {command, ref, data}   answered with command.done or command.refused {reason}
    room.sync                 answered with room.synced {room}
    question.ask {text, name, ref}      answered after commit: question.acknowledged {ref,
                              question, status} or question.refused {ref, reason}
    question.upvote {question, up, ref} answered the same way
    reaction.tap {reaction}   never answered: counted in memory, or dropped silently beyond the
                              attendee's rate (debates.reaction_tally)

Server to client, unasked
    phase.changed  tally.updated  you.synced (on connect)  host.revoked (debates.live.hosts)
    round.started  room.assigned  message.broadcast  timer.changed  round.ended  room.changed
    point.added  point.upvoted  point.changed  highlights.changed  takeaways.changed
    clock.updated  reveal.updated (plugged snapshot kinds, with a seq like phase.changed)
    questions.updated  questions.synced (on connect)  reactions.updated

Close codes: CLOSE_BAD_MESSAGE, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_TOO_MANY_FRAMES (below).

Groups (names only from these helpers; no colons)
    `event_group` every socket of an event, `hosts_group` its hosts (they see counts while the
    results are hidden from the audience), `room_group` the attendees of a breakout room.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MAX_FRAME = 4096  # characters; a larger client frame is refused with CLOSE_BAD_MESSAGE
REF_MAX = 64  # a client's vote or command reference, echoed back

CLOSE_BAD_MESSAGE = 4400  # malformed JSON, unknown type, oversized or binary frame
CLOSE_FORBIDDEN = 4403  # e.g. a vote from a socket that is not an attendee of the event
CLOSE_NOT_FOUND = 4404  # no such event
CLOSE_TOO_MANY_FRAMES = 4429  # more frames than debates.live.budget allows a socket

# Breakout rounds: one message shape (round_message), several types.
ROUND_STARTED = "round.started"
ROOM_ASSIGNED = "room.assigned"
MESSAGE_BROADCAST = "message.broadcast"
TIMER_CHANGED = "timer.changed"
ROUND_ENDED = "round.ended"
ROUND_TYPES = frozenset(
    {ROUND_STARTED, ROOM_ASSIGNED, MESSAGE_BROADCAST, TIMER_CHANGED, ROUND_ENDED}
)

# Points of a room's board: one shape (point_message), several types.
POINT_ADDED = "point.added"
POINT_UPVOTED = "point.upvoted"
POINT_CHANGED = "point.changed"
POINT_TYPES = frozenset({POINT_ADDED, POINT_UPVOTED, POINT_CHANGED})

HOST_REVOKED = "host.revoked"

# Audience questions and reactions (issue 15): what a client may send, and the snapshots.
QUESTION_ASK = "question.ask"
QUESTION_UPVOTE = "question.upvote"
REACTION_TAP = "reaction.tap"
AUDIENCE_FRAMES = frozenset({QUESTION_ASK, QUESTION_UPVOTE, REACTION_TAP})
QUESTIONS_LIVE_MAX = 50  # questions one snapshot carries at most (the top and the newest)

# A delivery: (group, encoded text, group to skip or None). Several make one broadcast.
Delivery = tuple[str, str, str | None]


def event_group(event_id: int) -> str:
    """Every socket of an event: attendees, viewers (projector), hosts."""
    return f"event-{event_id}"


def room_group(room_id: int) -> str:
    return f"room-{room_id}"


def hosts_group(event_id: int) -> str:
    """The event's hosts (console): they see counts while results are hidden."""
    return f"hosts-{event_id}"


EVENT_GROUP_PREFIX = event_group(0).removesuffix("0")


def event_of_group(group: str) -> int | None:
    """The event id of an `event_group` name, None for any other group."""
    if group.startswith(EVENT_GROUP_PREFIX):
        return int(group.removeprefix(EVENT_GROUP_PREFIX))
    return None


def encode(message: Mapping[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def tally_deliveries(event_id: int, *, full: str, public: str) -> list[Delivery]:
    """A tally to an event: in full to its hosts, in its public form to everyone else."""
    hosts = hosts_group(event_id)
    return [(hosts, full, None), (event_group(event_id), public, hosts)]


# ---------------------------------------------------------------- snapshots


def tally_updated(
    *,
    poll: int,
    version: int,
    kind: str,
    state: str,
    visible: bool,
    hidden_from_attendees: bool,
    total: int,
    set_aside: int,
    counts: Mapping[str, int] | None = None,
    percent: Mapping[str, int] | None = None,
    attendees: int | None = None,
) -> dict[str, Any]:
    """A poll's tally at `version`. Counts and percentages only when `visible`; the number of
    attendees (turnout) only for hosts."""
    message: dict[str, Any] = {
        "type": "tally.updated",
        "poll": poll,
        "version": version,
        "kind": kind,
        "state": state,
        "visible": visible,
        "hidden_from_attendees": hidden_from_attendees,
        "total": total,
        "set_aside": set_aside,
    }
    if visible:
        message["counts"] = dict(counts or {})
        message["percent"] = dict(percent or {})
    if attendees is not None:
        message["attendees"] = attendees
    return message


def phase_changed(
    *,
    event: int,
    seq: int,
    phase: str,
    label: str,
    html: str,
    recap: bool = False,
    translations: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """The event's state as read at `seq` (microseconds), with the page's stage as HTML, and
    whether its recap is published (pages that link to it re-read themselves when that flips).
    `translations`: {language: {"label", "html"}} for pages read in another language."""
    message = {
        "type": "phase.changed",
        "event": event,
        "seq": seq,
        "phase": phase,
        "label": label,
        "html": html,
        "recap": recap,
    }
    if translations:
        message["i18n"] = {code: dict(parts) for code, parts in translations.items()}
    return message


def you_synced(
    *, attendee: bool, host: bool, name: str, votes: Mapping[int, str]
) -> dict[str, Any]:
    """Who the socket is, and this attendee's votes as committed (sent on every connect)."""
    return {
        "type": "you.synced",
        "attendee": attendee,
        "host": host,
        "name": name,
        "votes": {str(poll_id): side for poll_id, side in votes.items()},
    }


# ---------------------------------------------------------------- answers


def pong() -> dict[str, Any]:
    return {"type": "pong"}


def vote_acknowledged(*, ref: str, poll: int, side: str, version: int) -> dict[str, Any]:
    """Committed; the tally snapshot with this version (or later) shows the vote."""
    return {"type": "vote.acknowledged", "ref": ref, "poll": poll, "side": side, "version": version}


def vote_refused(*, ref: str, poll: int, reason: str) -> dict[str, Any]:
    return {"type": "vote.refused", "ref": ref, "poll": poll, "reason": reason}


def vote_replaced(*, ref: str, poll: int) -> dict[str, Any]:
    """Never written: a newer vote of the same attendee took its place in the queue."""
    return {"type": "vote.replaced", "ref": ref, "poll": poll}


def command_done(*, ref: str, command: str) -> dict[str, Any]:
    return {"type": "command.done", "ref": ref, "command": command}


def command_refused(*, ref: str, command: str, reason: str) -> dict[str, Any]:
    return {"type": "command.refused", "ref": ref, "command": command, "reason": reason}


def room_synced(room: int | None) -> dict[str, Any]:
    return {"type": "room.synced", "room": room}


def host_revoked(event: int) -> dict[str, Any]:
    return {"type": HOST_REVOKED, "event": event}


# ---------------------------------------------------------------- the host console's changes


def round_message(
    kind: str, *, round_id: int, number: int, ends_at: str | None, **extra: object
) -> dict[str, Any]:
    """A breakout round's change (ROUND_TYPES); `ends_at` in ISO 8601, None without a timer."""
    if kind not in ROUND_TYPES:
        raise ValueError(f"not a round message: {kind}")
    return {"type": kind, "round": round_id, "number": number, "ends_at": ends_at, **extra}


def room_changed(room: int, **details: object) -> dict[str, Any]:
    """A room's members or details changed (details: its public fields, when they did)."""
    return {"type": "room.changed", "room": room, **details}


def overlay_changed() -> dict[str, Any]:
    """To the hosts only: the streaming overlay's link changed; consoles re-read it."""
    return {"type": "overlay.changed"}


def point_message(kind: str, *, point: Mapping[str, Any], text: str) -> dict[str, Any]:
    """A point of a room's board (POINT_TYPES): its public fields and its text."""
    if kind not in POINT_TYPES:
        raise ValueError(f"not a point message: {kind}")
    return {"type": kind, **point, "text": text}


def highlights_changed(event: int) -> dict[str, Any]:
    return {"type": "highlights.changed", "event": event}


def takeaways_changed(event: int) -> dict[str, Any]:
    return {"type": "takeaways.changed", "event": event}


# ---------------------------------------------------------------- the stage: clock and reveal


def clock_updated(
    *,
    event: int,
    seq: int,
    state: str,
    now: str,
    turn: Mapping[str, Any] | None = None,
    length: int = 0,
    spoken: float = 0.0,
    running_since: str | None = None,
    next_label: str = "",
) -> dict[str, Any]:
    """The speakers' clock as read at `seq`: never a tick. `state` is "idle" (no turn on the
    clock), "ready" (loaded, not started), "running" or "paused"; the client counts down from
    `length` - `spoken` - (its now - `running_since`), correcting its clock by `now` (the
    server's time at the read, ISO 8601). `turn`: label, side, speaker, number, count."""
    return {
        "type": "clock.updated",
        "event": event,
        "seq": seq,
        "state": state,
        "now": now,
        "turn": dict(turn) if turn is not None else None,
        "length": length,
        "spoken": round(spoken, 3),
        "running_since": running_since,
        "next": next_label,
    }


def reveal_updated(*, event: int, seq: int, revealed: bool, html: str) -> dict[str, Any]:
    """The reveal as read at `seq`: the final result's public panel (server-rendered, the
    small-group rules applied), or `revealed` false and no html before the host reveals."""
    return {
        "type": "reveal.updated",
        "event": event,
        "seq": seq,
        "revealed": revealed,
        "html": html,
    }


# ---------------------------------------------------------------- audience questions, reactions


def question_entry(
    *,
    question: int,
    text: str,
    name: str,
    upvotes: int,
    answered: bool,
    pinned: bool,
    at: str,
    status: str | None = None,
    merged: int | None = None,
) -> dict[str, Any]:
    """One question of a board: `name` is empty unless its author chose to give one; `status`
    and `merged` only for hosts (the public board holds shown questions only)."""
    entry: dict[str, Any] = {
        "id": question,
        "text": text,
        "name": name,
        "upvotes": upvotes,
        "answered": answered,
        "pinned": pinned,
        "at": at,
    }
    if status is not None:
        entry["status"] = status
        entry["merged"] = merged
    return entry


def questions_updated(
    *,
    event: int,
    version: int,
    questions: list[dict[str, Any]],
    pinned: dict[str, Any] | None,
    premoderated: bool,
    more: int,
) -> dict[str, Any]:
    """The question board at `version` (microseconds at the read): questions built with
    question_entry, the pinned one, and how many shown ones were left out. The reader caps the
    list (debates.selectors_audience): at most QUESTIONS_LIVE_MAX shown ones, and for hosts at
    most as many waiting ones and 20 hidden and 20 merged besides."""
    return {
        "type": "questions.updated",
        "event": event,
        "version": version,
        "questions": questions,
        "pinned": pinned,
        "premoderated": premoderated,
        "more": more,
    }


def questions_synced(*, upvoted: list[int], asked: list[int]) -> dict[str, Any]:
    """This attendee's upvotes and own questions (sent on connect): the board marks them."""
    return {"type": "questions.synced", "upvoted": upvoted, "asked": asked}


def question_acknowledged(*, ref: str, question: int, status: str, upvoted: bool) -> dict[str, Any]:
    """Committed: the question asked (its status: "visible", or "pending" for a moderator) or
    upvoted (`upvoted`: whether the attendee's upvote is on it now)."""
    return {
        "type": "question.acknowledged",
        "ref": ref,
        "question": question,
        "status": status,
        "upvoted": upvoted,
    }


def question_refused(*, ref: str, reason: str) -> dict[str, Any]:
    return {"type": "question.refused", "ref": ref, "reason": reason}


def reactions_updated(
    *, event: int, version: int, recent: dict[str, int], totals: dict[str, int], window: int
) -> dict[str, Any]:
    """The reaction meter at `version`: taps per kind in about the last `window` seconds, and
    since the start."""
    return {
        "type": "reactions.updated",
        "event": event,
        "version": version,
        "recent": recent,
        "totals": totals,
        "window": window,
    }
