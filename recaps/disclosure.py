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


# ---------------------------------------------------------------- the reveal's flow chart

Cell = tuple[str, str]  # (pre-vote side, final-vote side)


def _vertices(unknown: list[Cell], rows: dict[str, int], cols: dict[str, int]) -> list[dict]:
    """Every basic solution of "the unknown cells add up to the row and column remainders":
    a transportation polytope's vertices are the solutions whose nonzero cells form a forest,
    so solving each forest of unknown cells (at most 2^9 subsets) finds every vertex."""
    found = []
    for mask in range(1 << len(unknown)):
        edges = [cell for i, cell in enumerate(unknown) if mask >> i & 1]
        if len(edges) > len(rows) + len(cols) - 1:
            continue
        left = {("r", k): v for k, v in rows.items()} | {("c", k): v for k, v in cols.items()}
        values: dict[Cell, int] = {}
        todo = set(edges)
        while todo:
            leaf = None
            for node in left:
                incident = [e for e in todo if ("r", e[0]) == node or ("c", e[1]) == node]
                if len(incident) == 1:
                    leaf = (node, incident[0])
                    break
            if leaf is None:
                break  # a cycle: not a vertex
            node, edge = leaf
            values[edge] = left[node]
            left[("r", edge[0])] -= values[edge]
            left[("c", edge[1])] -= values[edge]
            todo.discard(edge)
        if todo or any(left.values()) or any(v < 0 for v in values.values()):
            continue
        found.append(values)
    return found


def flows_drawn(cells: Mapping[Cell, int]) -> set[Cell] | None:
    """Which flows of the pre-to-final table the reveal's chart may draw, or None for no chart.

    The chart draws a flow only with MIN_GROUP people or more, and shows each side's totals;
    a flow not drawn is either empty or hidden, and the reader cannot tell which. That is not
    enough on its own: the totals minus the drawn flows can pin a hidden flow (a row with one
    hidden flow of 2 is that flow). So the totals are taken as known, and for every flow not
    drawn, the range of values the drawn figures leave it must not lie within 1-4 people: it
    must include 0 (nobody, as far as anyone can tell) or reach MIN_GROUP. While one does, the
    smallest drawn flow beside it (same row or column) is left out too.
    """
    drawn = {cell for cell, n in cells.items() if n >= MIN_GROUP}
    while True:
        unknown = sorted(cell for cell in cells if cell not in drawn)
        rows: dict[str, int] = {}
        cols: dict[str, int] = {}
        for (pre, final), n in cells.items():
            rows[pre] = rows.get(pre, 0) + (0 if (pre, final) in drawn else n)
            cols[final] = cols.get(final, 0) + (0 if (pre, final) in drawn else n)
        vertices = _vertices(unknown, rows, cols)
        pinned = [
            cell
            for cell in unknown
            if min(v.get(cell, 0) for v in vertices) >= 1
            and max(v.get(cell, 0) for v in vertices) < MIN_GROUP
        ]
        if not pinned:
            return drawn
        cell = pinned[0]
        near = [d for d in drawn if d[0] == cell[0] or d[1] == cell[1]] or sorted(drawn)
        if not near:
            return None
        drawn.discard(min(near, key=lambda d: (cells[d], d)))
