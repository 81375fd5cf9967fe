"""What the recap may show without revealing how a small group voted.

Every vote figure the recap, the summary, the Markdown and the exports print stands for a set
of people (a poll's voters, those who voted both times, a room's members who did). A figure of
one to four people tells those people, and anyone who knows some of them, how the rest voted; so
does the difference of two figures whose sets are nested (the event minus the big room is the
small room). The rules here keep every shown set, and every difference of two nested shown
sets, at 0 or at least MIN_GROUP people. recaps.selectors applies them once, in the snapshot,
so every page agrees. Pure functions: no queries.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence

from django.utils.translation import gettext_lazy as _

from debates.models import MIN_GROUP

# Why a figure is left out, in the words every page prints. They say "five" (MIN_GROUP) in words
# so each stays one whole lazy string for translators.
WITHHELD_POLL = _(
    "Fewer than five people voted in this poll, so its figures are left out: with so few, they"
    " would show how each person voted."
)
WITHHELD_SWING = _("No swing is shown: fewer than five people voted in one of the two votes.")
WITHHELD_VERDICT = _(
    "No verdict is given: fewer than five people voted in the final vote, and with so few a result"
    " would show how each of them voted."
)
WITHHELD_TRANSITIONS = _(
    "This table is left out: fewer than five people voted both times, or one to four people voted in"
    " only one of the two polls, so it would show how a few people voted."
)
WITHHELD_ROOMS = _(
    "Per-room figures are left out: no breakout room had five or more people who voted both"
    " times, with everyone else also five or more (or none), so they would show how a few people"
    " voted."
)
WITHHELD_MARK = _(
    "— means too few people voted to show that figure without revealing how they voted."
)
# The room-swing row that counts together the small rooms and the people in no room.
EVERYONE_ELSE = _("Everyone else")


def group_ok(size: int) -> bool:
    """A group may be shown (or be the difference of two shown groups) if empty or big enough."""
    return size == 0 or size >= MIN_GROUP


def poll_shown(voters: int) -> bool:
    """A poll's tally (counts, shares, verdict, timeline) needs MIN_GROUP voters."""
    return voters >= MIN_GROUP


def transitions_shown(*, pre: set, final: set) -> bool:
    """The pre-to-final table needs MIN_GROUP people who voted both times, and the people who
    voted in only one poll must be none or MIN_GROUP: otherwise the pre-vote tally minus the
    table's row totals is the pre-only voters' votes (and likewise for the final vote)."""
    both = pre & final
    return len(both) >= MIN_GROUP and group_ok(len(pre - both)) and group_ok(len(final - both))


def rooms_shown[K: Hashable](
    voters: Mapping[K, set], *, both: set, order: Sequence[K]
) -> tuple[list[K], set]:
    """Which rooms of one round get a row of their own, and who is counted in the pooled row.

    `voters` maps each room to its members who voted both times; `both` is everyone who did
    (within one round the rooms do not overlap). A room needs MIN_GROUP such voters; the rest
    (small rooms and people in no room) are pooled, and the pool itself must be empty or
    MIN_GROUP, so while it holds one to four people the smallest shown room joins it. Every shown
    room, the pool, and the whole (the transition table) then differ from each other by 0 or
    at least MIN_GROUP people. Returns the shown rooms in `order` and the pooled people.
    """
    shown = [room for room in order if len(voters[room]) >= MIN_GROUP]
    while True:
        pooled = both - set().union(*(voters[room] for room in shown))
        if group_ok(len(pooled)) or not shown:
            break
        smallest = min(shown, key=lambda room: (len(voters[room]), -order.index(room)))
        shown.remove(smallest)
    return shown, pooled


def timeline_cuts(voters: Iterable[Hashable]) -> list[int]:
    """Where to cut a poll's vote log into steps of at least MIN_GROUP distinct voters each.

    `voters` is who cast or changed each entry, in log order (one person changing five times is
    one voter). Returns the index of the last entry of each step; a remainder of fewer than
    MIN_GROUP voters joins the step before it. Empty when the whole log has fewer.
    """
    cuts: list[int] = []
    seen: set = set()
    last = -1
    for i, voter in enumerate(voters):
        last = i
        seen.add(voter)
        if len(seen) >= MIN_GROUP:
            cuts.append(i)
            seen = set()
    if seen and cuts:
        cuts[-1] = last
    return cuts
