"""Reactions (issue 15 §4): attendees tap agree / unconvinced / unclear during a turn.

Taps are not written one by one. Each process sums them in memory (debates.reaction_tally, with
the per-attendee rate limit) and hands the sums here every couple of seconds: ONE transaction
adds them to ReactionCount rows, one per (event, time bucket, kind), then the "reactions" live
kind is marked changed for each event. Several processes add to the same rows (F() updates),
and the meter's snapshot reads the database, so it is right across processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from debates import live
from debates.models_audience import ReactionCount, ReactionKind
from events.models import Event

KIND = "reactions"  # the live snapshot kind (debates.realtime_audience)
# Taps are summed per this many seconds. A bucket counts in the speaker's turn its start falls
# in (recaps.audience), so the first up-to-BUCKET_SECONDS of a turn's taps go to the turn
# before: 15 s lost a turn's first reactions, 5 s keeps the error under the time it takes to
# start reacting. Shorter would hide more totals (MIN_GROUP people must tap in one bucket) and
# multiply the rows (3 kinds x 720 an hour at most, while people tap).
BUCKET_SECONDS = 5
METER_SECONDS = 30  # the projector's meter shows the taps of about the last half minute
REACTION_UNKNOWN = _("Choose agree, unconvinced or unclear.")
REACTIONS = frozenset(ReactionKind.values)

# (event id, bucket start, kind) -> (taps, attendees new to that bucket and kind)
Sums = Mapping[tuple[int, datetime, str], tuple[int, int]]


def bucket_of(at: datetime) -> datetime:
    """The start of the bucket a tap at `at` falls in (UTC, BUCKET_SECONDS long)."""
    seconds = int(at.timestamp()) // BUCKET_SECONDS * BUCKET_SECONDS
    return datetime.fromtimestamp(seconds, tz=UTC)


BUCKET = timedelta(seconds=BUCKET_SECONDS)


@transaction.atomic
def reactions_flush(*, sums: Sums) -> int:
    """Adds a process's summed taps to the database in ONE transaction, and announces each
    event's meter after commit. Taps of an event deleted meanwhile are dropped. Returns the
    taps written."""
    if not sums:
        return 0
    events = set(
        Event.objects.filter(pk__in={e for e, _b, _k in sums}).values_list("pk", flat=True)
    )
    kept = {key: value for key, value in sums.items() if key[0] in events and key[2] in REACTIONS}
    # Rows first (a concurrent process may make the same one: ignored), then the sums, added in
    # the database, so two processes flushing into one bucket both count.
    ReactionCount.objects.bulk_create(
        [ReactionCount(event_id=e, bucket=b, kind=k) for e, b, k in kept], ignore_conflicts=True
    )
    for (event_id, bucket, kind), (taps, people) in sorted(kept.items()):
        ReactionCount.objects.filter(event_id=event_id, bucket=bucket, kind=kind).update(
            taps=F("taps") + taps, people=F("people") + people
        )
    for event_id in sorted({e for e, _b, _k in kept}):
        transaction.on_commit(partial(live.changed, KIND, event_id))
    return sum(taps for taps, _people in kept.values())
