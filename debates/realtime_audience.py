"""The audience's live kinds (issue 15), plugged into debates.live like tallies: "questions" (the
board, full to hosts and public to the rest) and "reactions" (the projector's meter). Readers
are sync, run in a worker thread by the hub, one snapshot each, coalesced per event.
"""

from __future__ import annotations

import time
from typing import Any

from django.utils import timezone

from debates import live, selectors_audience
from debates.live import protocol
from debates.models_audience import Question
from debates.services import questions, reactions

QUESTIONS_INTERVAL = 1.0  # seconds between two board snapshots of one event (per process)
REACTIONS_INTERVAL = 1.0  # the meter: taps arrive in flushes every couple of seconds anyway


def plug_in() -> None:
    """Called from debates.realtime.plug_in."""
    live.plug_kind(
        questions.KIND,
        questions_deliveries,
        interval=QUESTIONS_INTERVAL,
        on_connect=questions_on_connect,
    )
    live.plug_kind(
        reactions.KIND,
        reactions_deliveries,
        interval=REACTIONS_INTERVAL,
        on_connect=reactions_on_connect,
    )


def _seq() -> int:
    return time.time_ns() // 1000


def _entry(question: Question, *, moderation: bool) -> dict[str, Any]:
    return protocol.question_entry(
        question=question.pk,
        text=question.text,
        name=question.name,  # empty unless the author gave a name: the author is never sent
        upvotes=question.upvotes,
        answered=question.is_answered,
        pinned=question.pinned,
        at=question.created_at.isoformat(),
        status=question.status if moderation else None,
        merged=question.merged_into_id if moderation else None,
    )


def questions_message(event_id: int, *, moderation: bool, version: int) -> dict[str, Any]:
    board = selectors_audience.question_board(event_id=event_id, moderation=moderation)
    listed = [*board.pending, *board.shown, *board.hidden, *board.merged]
    settings = board.settings or selectors_audience.audience_settings(event_id=event_id)
    return protocol.questions_updated(
        event=event_id,
        version=version,
        questions=[_entry(q, moderation=moderation) for q in listed],
        pinned=_entry(board.pinned, moderation=False) if board.pinned else None,
        premoderated=settings.questions_premoderated,
        more=board.more,
    )


def questions_deliveries(event_id: int) -> list[live.Delivery]:
    """The board: with the waiting and hidden questions to the hosts, shown ones to the rest."""
    version = _seq()
    full = live.encode(questions_message(event_id, moderation=True, version=version))
    public = live.encode(questions_message(event_id, moderation=False, version=version))
    return protocol.tally_deliveries(event_id, full=full, public=public)


def questions_on_connect(*, event_id: int, attendee_id: int | None, host: bool) -> list[str]:
    messages = [
        live.encode(questions_message(event_id, moderation=host, version=_seq())),
    ]
    if attendee_id is not None:
        upvoted, asked = selectors_audience.my_question_ids(
            attendee_id=attendee_id, event_id=event_id
        )
        messages.append(live.encode(protocol.questions_synced(upvoted=upvoted, asked=asked)))
    return messages


def reactions_message(event_id: int) -> dict[str, Any]:
    version = _seq()
    recent, totals = selectors_audience.reactions_meter(
        event_id=event_id, now=timezone.now(), seconds=reactions.METER_SECONDS
    )
    return protocol.reactions_updated(
        event=event_id,
        version=version,
        recent=recent,
        totals=totals,
        window=reactions.METER_SECONDS,
    )


def reactions_deliveries(event_id: int) -> list[live.Delivery]:
    return [(live.event_group(event_id), live.encode(reactions_message(event_id)), None)]


def reactions_on_connect(*, event_id: int, attendee_id: int | None, host: bool) -> list[str]:
    return [live.encode(reactions_message(event_id))]
