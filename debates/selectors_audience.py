"""Reads of the audience's questions and reactions (issue 15). Never writes.

The board is read in one query per status group and capped (protocol.QUESTIONS_LIVE_MAX), so a
snapshot costs the same however many questions an event collects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Max, Min, Q, Sum, Value
from django.utils import timezone

from debates.live import protocol
from debates.models_audience import (
    AudienceSettings,
    Question,
    QuestionStatus,
    QuestionUpvote,
    ReactionCount,
    ReactionKind,
)
from debates.services.reactions import BUCKET

HALF = protocol.QUESTIONS_LIVE_MAX // 2


@dataclass(frozen=True)
class Board:
    """An event's questions as a screen shows them."""

    shown: list[Question]  # on the list: the most upvoted and the newest, capped
    pinned: Question | None
    more: int  # shown questions left out of `shown` by the cap
    pending: list[Question] = field(default_factory=list)  # hosts only
    hidden: list[Question] = field(default_factory=list)  # hosts only
    merged: list[Question] = field(default_factory=list)  # hosts only
    settings: AudienceSettings | None = None


def audience_settings(*, event_id: int) -> AudienceSettings:
    found = AudienceSettings.objects.filter(pk=event_id).first()
    return found if found is not None else AudienceSettings(event_id=event_id)


def question_board(*, event_id: int, moderation: bool = False) -> Board:
    """The shown questions (the HALF most upvoted and the HALF newest), the pinned one, and for
    hosts (`moderation`) the waiting, hidden and merged ones. One query while fewer than HALF
    are shown (every socket's connect reads it), up to three more with more, and four for hosts."""
    shown = Question.objects.filter(event_id=event_id, status=QuestionStatus.VISIBLE)
    top = list(shown.order_by("-upvotes", "created_at", "id")[:HALF])
    # Fewer than HALF: `top` is every shown question, the newest and the pinned one among them.
    newest = list(shown.order_by("-created_at", "-id")[:HALF]) if len(top) == HALF else []
    picked = {q.pk: q for q in [*top, *newest]}
    total = shown.count() if len(top) == HALF else len(picked)
    pinned = next((q for q in picked.values() if q.pinned), None)
    if pinned is None and len(top) == HALF:
        pinned = shown.filter(pinned=True).first()
        if pinned is not None:
            picked[pinned.pk] = pinned
    board = sorted(picked.values(), key=lambda q: (-q.upvotes, q.created_at, q.pk))
    extra: dict = {}
    if moderation:
        others = Question.objects.filter(event_id=event_id)
        extra = {
            "pending": list(
                others.filter(status=QuestionStatus.PENDING).order_by("created_at")[
                    : protocol.QUESTIONS_LIVE_MAX
                ]
            ),
            "hidden": list(
                others.filter(status=QuestionStatus.HIDDEN).order_by("-created_at")[:20]
            ),
            "merged": list(
                others.filter(status=QuestionStatus.MERGED).order_by("-created_at")[:20]
            ),
            "settings": audience_settings(event_id=event_id),
        }
    return Board(shown=board, pinned=pinned, more=max(0, total - len(board)), **extra)


def my_question_ids(*, attendee_id: int, event_id: int) -> tuple[list[int], list[int]]:
    """The questions an attendee upvoted and those they asked, in ONE query (a socket's
    connect reads it)."""
    upvoted = (
        QuestionUpvote.objects.filter(attendee_id=attendee_id, question__event_id=event_id)
        .order_by()
        .values_list("question_id", Value(True))
    )
    asked = (
        Question.objects.filter(author_id=attendee_id, event_id=event_id)
        .order_by()
        .values_list("pk", Value(False))
    )
    rows = sorted(upvoted.union(asked, all=True))
    return [pk for pk, up in rows if up], [pk for pk, up in rows if not up]


def answered_questions(*, event_id: int) -> list[Question]:
    """The questions marked answered that are still shown, most upvoted first (the recap)."""
    return list(
        Question.objects.filter(
            event_id=event_id, status=QuestionStatus.VISIBLE, answered_at__isnull=False
        ).order_by("-upvotes", "answered_at", "pk")
    )


# ---------------------------------------------------------------- reactions


def _per_kind(rows) -> dict[str, int]:
    found = dict.fromkeys(ReactionKind.values, 0)
    for row in rows:
        found[row["kind"]] = row["n"] or 0
    return found


def reactions_meter(*, event_id: int, now: datetime | None = None, seconds: int = 30) -> tuple:
    """(taps per kind in the buckets of about the last `seconds`, taps per kind in all). One
    query on the event's bucket rows (an index range)."""
    since = (now or timezone.now()) - timedelta(seconds=seconds)
    rows = (
        ReactionCount.objects.filter(event_id=event_id)
        .values("kind")
        .annotate(n=Sum("taps"), recent=Sum("taps", filter=Q(bucket__gte=since)))
        .order_by("kind")
    )
    rows = list(rows)
    recent = _per_kind([{"kind": r["kind"], "n": r["recent"]} for r in rows])
    return recent, _per_kind(rows)


@dataclass(frozen=True)
class WindowReactions:
    """One time window's reactions: taps per kind, and per kind the most distinct people seen
    tapping it in one bucket (a lower bound of the people behind the taps)."""

    start: datetime
    end: datetime
    taps: dict[str, int]
    people: dict[str, int]


def reactions_per_window(
    *, event_id: int, windows: Sequence[tuple[datetime, datetime]]
) -> list[WindowReactions]:
    """Reaction totals per time window [start, end): a bucket counts in the window its start
    falls in. The seam to speakers' turns: pass each turn's (started, ended) and get its
    reactions. One query per window."""
    found = []
    for start, end in windows:
        rows = (
            ReactionCount.objects.filter(event_id=event_id, bucket__gte=start, bucket__lt=end)
            .values("kind")
            .annotate(n=Sum("taps"), most=Max("people"))
            .order_by("kind")
        )
        rows = list(rows)
        found.append(
            WindowReactions(
                start=start,
                end=end,
                taps=_per_kind(rows),
                people=_per_kind([{"kind": r["kind"], "n": r["most"]} for r in rows]),
            )
        )
    return found


def reactions_span(*, event_id: int) -> tuple[datetime, datetime] | None:
    """From the first bucket's start to the last bucket's end of an event's reactions, or None."""
    span = ReactionCount.objects.filter(event_id=event_id).aggregate(
        first=Min("bucket"), last=Max("bucket")
    )
    if span["first"] is None:
        return None
    return span["first"], span["last"] + BUCKET
