"""The debate's half of realtime: what debates.live reads and writes through (plugged in from
DebatesConfig.ready). debates.live knows nothing of polls, events or attendees; here they
become its snapshots (tallies, the event state with the stage's HTML, who a socket is), its
vote writer and its host checker. All sync, each run in a worker thread by debates.live.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from debates import host_rights, live, realtime_audience, selectors
from debates.live import plugs, protocol
from debates.services import rounds, voting
from events.models import Event

STAGE_CACHE_SECONDS = 2.0  # a connect storm renders the event page's stage once per event


def plug_in() -> None:
    """Called once, from DebatesConfig.ready."""
    live.plug(
        tally=tally_deliveries,
        polls=event_polls_deliveries,
        event=event_deliveries,
        connection=connection_read,
        votes=votes_write,
        vote_not_saved=voting.VOTE_NOT_SAVED,
        hosts=host_rights.still_hosting,
    )
    realtime_audience.plug_in()  # questions and reactions (issue 15)


def _now_seq() -> int:
    return time.time_ns() // 1000


# ---------------------------------------------------------------- tallies


def tally_deliveries(poll_id: int) -> list[live.Delivery]:
    """A poll's tally: in full to the hosts, in its public form to everyone else."""
    snapshot = selectors.poll_snapshot(poll_id=poll_id)
    if snapshot is None:
        return []
    return _tally_deliveries_of(snapshot)


def _tally_deliveries_of(snapshot: selectors.PollSnapshot) -> list[live.Delivery]:
    full = live.encode(snapshot.message(full=True))
    public = full if snapshot.visible_to_attendees else live.encode(snapshot.message(full=False))
    return protocol.tally_deliveries(snapshot.event_id, full=full, public=public)


def event_polls_deliveries(event_id: int) -> list[live.Delivery]:
    """Every poll of the event that is not a draft, as tally deliveries (for a resync)."""
    deliveries: list[live.Delivery] = []
    for snapshot in selectors.poll_snapshots(event_id=event_id):
        deliveries += _tally_deliveries_of(snapshot)
    return deliveries


# ---------------------------------------------------------------- the event's state

_stage_cache: dict[tuple[int, str], tuple[float, tuple, str]] = {}


def stage_html(
    event: Event, snapshots: list[Any], *, fresh: bool = False, language: str | None = None
) -> str:
    """The event page's live "stage" (phase, polls, tallies) as pushed to every socket.

    Rendered for the audience (no one's own vote; live.js marks that from `you.synced`), in
    `language` (default: the event's). Cached briefly per event and language so a reconnect
    storm renders it once; a broadcast always renders it fresh (`fresh=True`) and refreshes
    the cache.
    """
    language = language or event.language
    key = (event.phase, tuple((s.id, s.version, s.state) for s in snapshots))
    cached = _stage_cache.get((event.pk, language))
    now = time.monotonic()
    if not fresh and cached and cached[1] == key and now - cached[0] < STAGE_CACHE_SECONDS:
        return cached[2]
    # Rendered in the language asked for, not whichever the rendering thread last had active.
    with translation.override(language):
        html = render_to_string(
            "debates/event.html#stage", {"event": event, "polls": snapshots, "my_votes": {}}
        )
    _stage_cache[(event.pk, language)] = (now, key, html)
    return html


def _phase_label(event: Event, language: str) -> str:
    with translation.override(language):
        return str(event.get_phase_display())


def event_message(event: Event, snapshots: list[Any], *, fresh: bool = False) -> dict[str, Any]:
    """The stage in the event's language, and in each other language the site speaks: one
    message goes to every socket of the event, and each page shows the stage in the language
    it was read in (live.js picks by <html lang>). A few hundred bytes a language."""
    others = [code for code, _name in settings.LANGUAGES if code != event.language]
    return protocol.phase_changed(
        event=event.pk,
        seq=_now_seq(),
        phase=event.phase,
        label=_phase_label(event, event.language),
        html=stage_html(event, snapshots, fresh=fresh),
        recap=event.recap_published,
        translations={
            code: {
                "label": _phase_label(event, code),
                "html": stage_html(event, snapshots, fresh=fresh, language=code),
            }
            for code in others
        },
    )


def event_deliveries(event_id: int) -> list[live.Delivery]:
    seq_before_read = _now_seq()
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        return []
    message = event_message(event, selectors.poll_snapshots(event_id=event_id), fresh=True)
    message["seq"] = seq_before_read  # what the read is guaranteed to include
    return [(live.event_group(event_id), live.encode(message), None)]


# ---------------------------------------------------------------- a socket connecting


def connection_read(*, slug: str, session: Any, user: Any) -> live.Connection | None:
    """Who the socket is and the current state of everything it shows. A few queries."""
    seq_before_read = _now_seq()
    event = Event.objects.filter(slug=slug).first()
    if event is None:
        return None
    attendee = selectors.attendee_for_session(event=event, session=session)
    host = selectors.can_host(event=event, user=user, session=session)
    snapshots = selectors.poll_snapshots(event_id=event.pk)
    state = event_message(event, snapshots)
    state["seq"] = seq_before_read
    you = protocol.you_synced(
        attendee=attendee is not None,
        host=host,
        name=attendee.public_name if attendee else "",
        votes=selectors.votes_of(attendee_id=attendee.pk) if attendee else {},
    )
    messages = [live.encode(state)]
    messages += [live.encode(s.message(full=host)) for s in snapshots]
    # Every plugged live kind (questions, clocks, ...): its snapshot, read now, in this thread.
    messages += plugs.on_connect_messages(
        event_id=event.pk, attendee_id=attendee.pk if attendee else None, host=host
    )
    messages.append(live.encode(you))
    room = rounds.room_arrive(attendee=attendee) if attendee else None
    return live.Connection(
        event_id=event.pk,
        attendee_id=attendee.pk if attendee else None,
        host=host,
        messages=messages,
        # The attendee's breakout room (a late joiner is placed in the smallest one first).
        groups=(live.room_group(room.pk),) if room is not None else (),
    )


# ---------------------------------------------------------------- socket votes


def votes_write(ballots: list[voting.Ballot]) -> tuple[list[str | None], dict[int, int]]:
    """A batch of socket votes in ONE transaction (voting.votes_cast_batch, looked up at
    each call)."""
    result = voting.votes_cast_batch(ballots=ballots)
    # The messages stay lazy: the writer words each in its own socket's language.
    reasons = [None if c is None else voting.VOTE_REFUSAL_MESSAGES[c] for c in result.refusals]
    return reasons, result.versions
