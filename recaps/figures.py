"""The recap's figures: the arithmetic (percentages, swing, verdict) and the shapes of the
snapshot recaps.selectors.event_recap returns. Pure: no queries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.utils.translation import gettext_lazy as _

from events.models import Event, Side

# The order sides appear in every table, chart and export.
SIDES = (Side.FOR, Side.AGAINST, Side.UNDECIDED)
# Two-sided 95% normal quantile, for the Wilson interval behind the verdict.
Z_95 = 1.959963984540054


# ---------------------------------------------------------------- figures


def percent(part: int, whole: int) -> Decimal | None:
    """part/whole in percent, rounded half up to one decimal place; None when whole is 0."""
    if whole == 0:
        return None
    return _one_place(Fraction(100 * part, whole))


def _one_place(value: Fraction) -> Decimal:
    # Exact until this single rounding, so 7/16 is 43.8 and 9/16 is 56.3 (half up, not to even).
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def swing_between(
    *, pre_for: int, pre_total: int, final_for: int, final_total: int
) -> Decimal | None:
    """The swing: final FOR share minus pre-vote FOR share, in percentage points.

    A poll's FOR share is its FOR votes divided by all votes cast in it (FOR, AGAINST and
    UNDECIDED). Positive means opinion moved towards FOR. Computed from the exact shares and
    rounded once, half up, to one decimal place, so it can differ by 0.1 from the difference
    of the two rounded percentages shown beside it. None when either poll has no votes.
    """
    if pre_total == 0 or final_total == 0:
        return None
    return _one_place(Fraction(100 * final_for, final_total) - Fraction(100 * pre_for, pre_total))


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for a proportion (stays inside 0..1, sane for small n)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


VERDICT_LABELS = {
    "carried": _("carried"),
    "defeated": _("defeated"),
    "evenly_split": _("evenly split"),
    "no_result": _("no result"),
}


@dataclass(frozen=True)
class Verdict:
    outcome: str  # a key of VERDICT_LABELS
    label: str
    for_votes: int
    against_votes: int
    undecided_votes: int
    for_share: Decimal | None  # percent of the decided (FOR + AGAINST) final votes
    low: Decimal | None  # the 95% Wilson interval around for_share, in percent
    high: Decimal | None

    @property
    def decided(self) -> int:
        return self.for_votes + self.against_votes


def verdict_for(*, for_votes: int, against_votes: int, undecided_votes: int = 0) -> Verdict:
    """The result in words, from the final vote.

    Rule: take the decided final votes, FOR + AGAINST (UNDECIDED votes took no side, so they
    are reported but count for neither side and do not enter the rule). Compute the FOR share
    of those and its 95% Wilson score interval (z = 1.96).
    - "carried" if the whole interval lies above 50%,
    - "defeated" if the whole interval lies below 50%,
    - "evenly split" otherwise: the margin is too small for the number of votes to say
      which side the room was on,
    - "no result" if nobody voted FOR or AGAINST.
    So 16 FOR to 18 AGAINST is evenly split, 10 to 0 is carried, and 3 to 0 is still evenly
    split (three votes cannot rule out a room that leans the other way).
    """
    decided = for_votes + against_votes
    if decided == 0:
        outcome, low, high = "no_result", None, None
    else:
        lo, hi = wilson_interval(for_votes, decided)
        low, high = _one_place(Fraction(lo * 100)), _one_place(Fraction(hi * 100))
        outcome = "carried" if lo > 0.5 else "defeated" if hi < 0.5 else "evenly_split"
    return Verdict(
        outcome=outcome,
        label=str(VERDICT_LABELS[outcome]),
        for_votes=for_votes,
        against_votes=against_votes,
        undecided_votes=undecided_votes,
        for_share=percent(for_votes, decided),
        low=low,
        high=high,
    )


@dataclass(frozen=True)
class Iq2Result:
    """Who won by the Intelligence Squared rule: the side whose share of the votes rose most
    between the pre-vote and the final vote (shares of all votes cast, undecided included)."""

    winner: str  # Side.FOR or Side.AGAINST, "" for a draw (equal gains)
    label: str  # the winner's name, or "a draw"
    for_gain: Decimal  # percentage points, rounded once, half up
    against_gain: Decimal


IQ2_DRAW = _("a draw")


def iq2_winner(
    *,
    pre_for: int,
    pre_against: int,
    pre_total: int,
    final_for: int,
    final_against: int,
    final_total: int,
) -> Iq2Result | None:
    """The Intelligence Squared winner; None when either vote has no votes. The gains are
    compared exactly (not as rounded figures), so a tie is a true tie."""
    if pre_total == 0 or final_total == 0:
        return None
    gain_for = Fraction(100 * final_for, final_total) - Fraction(100 * pre_for, pre_total)
    gain_against = Fraction(100 * final_against, final_total) - Fraction(
        100 * pre_against, pre_total
    )
    if gain_for == gain_against:
        winner, label = "", str(IQ2_DRAW)
    else:
        winner = Side.FOR if gain_for > gain_against else Side.AGAINST
        label = str(Side(winner).label)
    return Iq2Result(
        winner=winner,
        label=label,
        for_gain=_one_place(gain_for),
        against_gain=_one_place(gain_against),
    )


@dataclass(frozen=True)
class Flow:
    """A band of the "who changed their mind" chart: people who voted `pre` then `final`."""

    pre: str
    final: str
    count: int


@dataclass(frozen=True)
class RecapTurn:
    """A speaker's turn as it ran (debates.stage.turns_of), for the recap's running order."""

    label: str
    side: str
    speaker: str
    planned_seconds: int
    added_seconds: int
    spoken_seconds: int


@dataclass(frozen=True)
class Persuader:
    """A highlighted point or a speaker's turn that switchers said changed their mind, with
    how many named it (only shown from MIN_GROUP on: recaps.stage)."""

    kind: str  # "point" or "turn"
    text: str
    side: str
    named_by: int


# ---------------------------------------------------------------- the recap snapshot


@dataclass(frozen=True)
class SideCount:
    side: str
    label: str
    count: int
    percent: Decimal | None  # of all votes cast in the poll


@dataclass(frozen=True)
class PollTally:
    kind: str
    label: str
    total: int
    sides: tuple[SideCount, ...]  # in SIDES order

    def count(self, side: str) -> int:
        return next(s.count for s in self.sides if s.side == side)


@dataclass(frozen=True)
class ResultRow:
    """One side across the two votes, for the result table."""

    side: str
    label: str
    pre: SideCount | None
    final: SideCount | None
    change: Decimal | None  # percentage points, final minus pre


@dataclass(frozen=True)
class TransitionCell:
    side: str  # the final-vote side (the column)
    count: int
    stayed: bool  # on the diagonal: same side in both votes


@dataclass(frozen=True)
class TransitionRow:
    side: str  # the pre-vote side
    label: str
    cells: tuple[TransitionCell, ...]  # in SIDES order
    total: int


@dataclass(frozen=True)
class Transitions:
    """Attendees who voted in both polls: pre-vote side (rows) to final-vote side (columns)."""

    rows: tuple[TransitionRow, ...]
    column_totals: tuple[TransitionCell, ...]
    total: int
    stayed: int
    changed: int
    pre_for_percent: Decimal | None
    final_for_percent: Decimal | None
    swing: Decimal | None


@dataclass(frozen=True)
class RoomSwing:
    round_number: int
    room: str  # the room's label, or EVERYONE_ELSE for the pooled row
    members: int
    voters: int  # members who voted in both polls (at least MIN_GROUP on every row)
    pre_for_percent: Decimal | None
    final_for_percent: Decimal | None
    swing: Decimal | None
    pooled: bool = False  # the row of everyone not in a room shown on its own


@dataclass(frozen=True)
class Result:
    """The result figures, with every figure that would single out a small group left out.

    A figure left out is None (or empty) and `why` holds the sentence that says so, under the
    figure's key: "pre", "final", "swing", "verdict", "transitions", "rooms", and "mark" when
    an em dash in the result table stands for a figure left out.
    """

    pre: PollTally | None  # None when the poll was not held or is left out
    final: PollTally | None
    rows: tuple[ResultRow, ...]
    swing: Decimal | None
    verdict: Verdict | None  # None when the final vote is left out
    transitions: Transitions | None  # None when nobody voted both times, or left out
    rooms: tuple[RoomSwing, ...]  # one round's rooms, the pooled row last
    rooms_pooled: tuple[str, ...] = ()  # that round's rooms not shown on their own
    why: dict[str, str] = field(default_factory=dict)

    @property
    def tallies(self) -> tuple[PollTally, ...]:
        return tuple(t for t in (self.pre, self.final) if t is not None)


@dataclass(frozen=True)
class TallyStep:
    at: datetime
    counts: tuple[int, ...]  # in SIDES order


@dataclass(frozen=True)
class PollTimeline:
    label: str
    start: datetime
    end: datetime
    steps: tuple[TallyStep, ...]


@dataclass(frozen=True)
class Window:
    label: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Attendance:
    start: datetime
    end: datetime
    joins: tuple[datetime, ...]  # sorted
    windows: tuple[Window, ...]  # the votes and breakouts, to read the curve against


@dataclass(frozen=True)
class Turnout:
    attendees: int
    pre_voters: int
    final_voters: int
    both_voters: int


@dataclass(frozen=True)
class RoomPoints:
    room: str
    for_points: int
    against_points: int

    @property
    def total(self) -> int:
        return self.for_points + self.against_points


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    role_label: str
    affiliation: str


@dataclass(frozen=True)
class OpeningView:
    side: str
    side_label: str
    speaker: Person
    statement: str


@dataclass(frozen=True)
class RecapPoint:
    text: str
    side: str
    upvotes: int
    highlighted: bool


@dataclass(frozen=True)
class ThemeDiscussion:
    name: str
    for_points: tuple[RecapPoint, ...]  # highlighted first, then by upvotes
    against_points: tuple[RecapPoint, ...]

    @property
    def highlighted(self) -> tuple[RecapPoint, ...]:
        return tuple(p for p in self.for_points + self.against_points if p.highlighted)


@dataclass(frozen=True)
class RecapTakeaway:
    title: str
    text: str


@dataclass(frozen=True)
class RecapResource:
    title: str
    url: str


@dataclass(frozen=True)
class Recap:
    """Everything the summary, the public recap and the Markdown export show.

    Holds no attendee names, tokens or point authors: what is not here cannot leak.
    """

    event: Event
    hosts: tuple[Person, ...]  # hosts and moderators, for the "hosted by" line
    views: tuple[OpeningView, ...]  # FOR first, then AGAINST
    themes: tuple[ThemeDiscussion, ...]
    takeaways: tuple[RecapTakeaway, ...]
    resources: tuple[RecapResource, ...]
    result: Result
    timelines: tuple[PollTimeline, ...]
    turnout: Turnout
    attendance: Attendance
    room_points: tuple[RoomPoints, ...]
    room_count: int
    hidden_points: int  # left out by moderators; shown to organisers only
    set_aside_votes: int = 0  # votes a host set aside (debates.set_aside): in no figure here
    turns: tuple[RecapTurn, ...] = ()  # the speakers' turns as they ran
    persuaders: tuple[Persuader, ...] = ()  # what changed minds, named by MIN_GROUP or more
