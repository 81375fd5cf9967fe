"""The stage in the recap: the speakers' turns as they ran, and what changed minds.

Reads only. What changed minds counts the answers of switchers (counted pre-vote and final
vote on different sides) per highlighted point and per speaker's turn, and keeps only what at
least MIN_GROUP of them named, so no answer points at a person; no names, no times.
"""

from __future__ import annotations

from collections import Counter

from debates.models import MindChange
from debates.stage import turns_of
from events.models import Event
from recaps import disclosure
from recaps.figures import Persuader, RecapTurn


def recap_turns(event: Event) -> tuple[RecapTurn, ...]:
    """Every turn that ran, in order, with its planned length, the time added and the time it
    took (pauses left out). One query."""
    return tuple(
        RecapTurn(
            label=turn.label,
            side=turn.side,
            speaker=turn.speaker,
            planned_seconds=turn.planned_seconds,
            added_seconds=turn.added_seconds,
            spoken_seconds=round(turn.spoken_seconds),
        )
        for turn in turns_of(event)
    )


def persuaders(
    event: Event, *, pre: dict[int, str], final: dict[int, str]
) -> tuple[Persuader, ...]:
    """The points and turns at least MIN_GROUP switchers named, most named first. `pre` and
    `final` are the counted votes (attendee id -> side) the recap's figures use. One query."""
    switchers = [a for a in set(pre) & set(final) if pre[a] != final[a]]
    if len(switchers) < disclosure.MIN_GROUP:
        return ()
    counts: Counter = Counter()
    what: dict[tuple[str, int], tuple[str, str]] = {}
    for change in MindChange.objects.filter(event=event, attendee_id__in=switchers).select_related(
        "point", "turn"
    ):
        if change.point is not None:
            key = ("point", change.point_id)
            what[key] = (change.point.text, change.point.side)
        elif change.turn is not None:
            key = ("turn", change.turn_id)
            what[key] = (change.turn.label, change.turn.side)
        else:
            continue  # skipped
        counts[key] += 1
    return tuple(
        Persuader(kind=key[0], text=what[key][0], side=what[key][1], named_by=n)
        for key, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        if n >= disclosure.MIN_GROUP
    )
