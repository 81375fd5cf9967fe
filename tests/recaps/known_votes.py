"""An event whose every recap figure is worked out by hand below, and an HTML figure reader.

Who voted what (pre-vote, final vote, breakout room); None: no vote in that poll, or no room.

    pre \\ final   FOR  AGAINST  UNDECIDED   (voted in both polls: 16)
    FOR             5       1         1
    AGAINST         2       3         0
    UNDECIDED       2       1         1
    plus: five AGAINST final votes only (in no room), one person who never voted.

Every group a figure stands for is 0 or at least five people (recaps.disclosure), so every
figure is shown; room Summit, where nobody voted both times, is the one thing left out.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from datetime import timedelta
from html.parser import HTMLParser

from debates.models import (
    BreakoutRoom,
    BreakoutRound,
    Point,
    PointStatus,
    Poll,
    PollKind,
    PollState,
    RoomMember,
    Takeaway,
    Vote,
    VoteLog,
)
from events.models import Attendee, Event, Phase, Resource, Side

F, A, U = Side.FOR, Side.AGAINST, Side.UNDECIDED
H, M = "Harbour", "Meadow"

PEOPLE = [
    *[(F, F, H)] * 3,
    *[(F, F, M)] * 2,
    (F, A, M),
    (F, U, M),
    *[(A, A, M)] * 3,
    (A, F, H),
    (A, F, M),
    *[(U, F, M)] * 2,
    (U, A, H),
    (U, U, M),
    *[(None, A, None)] * 5,
    (None, None, None),
]

# Names nobody would write in a point or a template, so a search for them cannot misfire.
NAMES = [f"Quixley{chr(ord('a') + i)}" for i in range(len(PEOPLE))]

# Every figure of the result, worked out by hand. Percentages are rounded once, half up.
EXPECTED = {
    # Pre-vote: 7 + 5 + 4 = 16 votes. Final vote: 9 + (5 + 5) + 2 = 21 votes.
    "pre-total": "16",
    "pre-for-count": "7",
    "pre-for-percent": "43.8%",  # 7/16 = 43.75, half up
    "pre-against-count": "5",
    "pre-against-percent": "31.3%",  # 5/16 = 31.25, half up
    "pre-undecided-count": "4",
    "pre-undecided-percent": "25.0%",  # 4/16
    "final-total": "21",
    "final-for-count": "9",
    "final-for-percent": "42.9%",  # 9/21 = 42.857...
    "final-against-count": "10",
    "final-against-percent": "47.6%",  # 10/21 = 47.619...
    "final-undecided-count": "2",
    "final-undecided-percent": "9.5%",  # 2/21 = 9.5238...
    # Changes from the exact shares: 42.8571 - 43.75 = -0.8929; 47.6190 - 31.25 = +16.3690;
    # 9.5238 - 25 = -15.4762.
    "change-for": "\u22120.9",
    "change-against": "+16.4",
    "change-undecided": "\u221215.5",
    "swing": "\u22120.9",
    # Verdict: 9 FOR v 10 AGAINST decided (19); 9/19 = 47.37%; Wilson 95%: centre
    # (0.4737 + 0.1011) / 1.2022 = 0.4781, half-width 1.6304 * 0.1256 = 0.2048, so 27.33% to
    # 68.29%, which straddles 50%: evenly split.
    "verdict": "evenly split",
    "verdict-for-share": "47.4%",
    "verdict-decided": "19",
    "verdict-undecided": "2",
    "verdict-confidence": "95%",
    "verdict-low": "27.3%",
    "verdict-high": "68.3%",
    # Transition table: 16 voted twice; 5 + 3 + 1 = 9 stayed, 7 moved.
    "transition-for-for": "5",
    "transition-for-against": "1",
    "transition-for-undecided": "1",
    "transition-for-total": "7",
    "transition-against-for": "2",
    "transition-against-against": "3",
    "transition-against-undecided": "0",
    "transition-against-total": "5",
    "transition-undecided-for": "2",
    "transition-undecided-against": "1",
    "transition-undecided-undecided": "1",
    "transition-undecided-total": "4",
    "transition-total-for": "9",
    "transition-total-against": "5",
    "transition-total-undecided": "2",
    "transition-total": "16",
    "transition-stayed": "9",
    "transition-changed": "7",
    # Among those 16: FOR 7/16 = 43.75% before, 9/16 = 56.25% after, swing 2/16 = 12.5 points.
    "paired-pre-for": "43.8%",
    "paired-final-for": "56.3%",
    "paired-swing": "+12.5",
    # Harbour: 5 voted twice (FOR,FOR x3; AGAINST,FOR; UNDECIDED,AGAINST): 3/5 -> 4/5.
    "room-1-voters": "5",
    "room-1-pre-for": "60.0%",
    "room-1-final-for": "80.0%",
    "room-1-swing": "+20.0",
    # Meadow: 11 voted twice: FOR 4/11 = 36.36% -> 5/11 = 45.45%, swing 1/11 = 9.09 points.
    "room-2-voters": "11",
    "room-2-pre-for": "36.4%",
    "room-2-final-for": "45.5%",
    "room-2-swing": "+9.1",
    # Summit: nobody in it, so no row of its own; everyone who voted both times is in Harbour
    # or Meadow, so there is no "everyone else" row either.
}

HIGHLIGHTED = [
    "Regulated fields reward people who already speak the regulator's language.",
    "Generalists learn the domain from experts faster than experts learn product.",
]
ORDINARY = [
    "Knowing the jargon gets you in the room.",
    "A specialist title narrows the next job search.",
    "Careers are long; range compounds.",
]
HIDDEN = "This was rude and the moderator hid it."
MERGED = "Same as the jargon point, said twice."
TAKEAWAYS = [
    ("Decide by the stage of your career", "Early on, breadth.\nLater, depth can pay."),
    ("Follow the problems that excite you", ""),
]


def build_known_event(event: Event) -> dict:
    """Fills the conftest `event` (themes "Domain knowledge", "Your career") with the story."""
    start = event.starts_at
    Event.objects.filter(pk=event.pk).update(
        phase=Phase.ENDED, ends_at=start + timedelta(hours=1), intro="Why this debate, and why now."
    )
    event.refresh_from_db()
    attendees = [
        Attendee.objects.create(
            event=event,
            token=secrets.token_urlsafe(32),
            display_name=name,
            joined_at=start + timedelta(minutes=i % 7),
        )
        for i, name in enumerate(NAMES)
    ]
    polls = {
        kind: Poll.objects.create(
            event=event,
            kind=kind,
            state=PollState.CLOSED,
            opened_at=start + timedelta(minutes=offset),
            closed_at=start + timedelta(minutes=offset + 5),
        )
        for kind, offset in ((PollKind.PRE_VOTE, 10), (PollKind.FINAL_VOTE, 40))
    }
    for index, kind in enumerate((PollKind.PRE_VOTE, PollKind.FINAL_VOTE)):
        poll = polls[kind]
        for n, (attendee, person) in enumerate(zip(attendees, PEOPLE, strict=True)):
            side = person[index]
            if side is None:
                continue
            at = poll.opened_at + timedelta(seconds=10 + n)
            if n == 0:
                # One person tried AGAINST first: the log keeps the change, the tally does not.
                VoteLog.objects.create(poll=poll, attendee=attendee, side=A, at=at)
                VoteLog.objects.create(
                    poll=poll,
                    attendee=attendee,
                    side=side,
                    previous_side=A,
                    at=at + timedelta(seconds=1),
                )
            else:
                VoteLog.objects.create(poll=poll, attendee=attendee, side=side, at=at)
            Vote.objects.create(poll=poll, attendee=attendee, side=side, cast_at=at, updated_at=at)

    round_ = BreakoutRound.objects.create(
        event=event,
        number=1,
        started_at=start + timedelta(minutes=15),
        ended_at=start + timedelta(minutes=35),
    )
    rooms = {
        name: BreakoutRoom.objects.create(round=round_, name=name, position=i)
        for i, name in enumerate([H, M, "Summit"])
    }
    for attendee, (_pre, _final, room) in zip(attendees, PEOPLE, strict=True):
        if room:
            RoomMember.objects.create(room=rooms[room], round=round_, attendee=attendee)

    domain, career = event.themes.order_by("position")
    author = attendees[0]

    def point(theme, side, text, upvotes, room=None, **fields):
        return Point.objects.create(
            event=event,
            theme=theme,
            side=side,
            text=text,
            upvotes=upvotes,
            room=rooms[room] if room else None,
            author=author,
            **fields,
        )

    jargon = point(domain, A, ORDINARY[0], 3, M)
    points = {
        "jargon": jargon,
        "regulated": point(domain, A, HIGHLIGHTED[0], 1, M, highlighted=True),
        "hidden": point(domain, F, HIDDEN, 9, H, status=PointStatus.HIDDEN),
        "merged": point(domain, A, MERGED, 2, H, status=PointStatus.MERGED, merged_into=jargon),
        "generalists": point(domain, F, HIGHLIGHTED[1], 0, H, highlighted=True),
        "title": point(career, F, ORDINARY[1], 4, H),
        "range": point(career, F, ORDINARY[2], 6),
    }
    for i, (title, text) in enumerate(TAKEAWAYS):
        Takeaway.objects.create(event=event, title=title, text=text, position=i)
    Resource.objects.create(event=event, title="Further reading", url="https://example.org/read")
    return {"attendees": attendees, "polls": polls, "rooms": rooms, "points": points}


class _FigureReader(HTMLParser):
    VOID = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "wbr",
    }

    def __init__(self, root_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root_id = root_id
        self.stack: list[tuple[str, bool, str | None, bool]] = []  # tag, root, figure, svg
        self.figures: dict[str, list[str]] = defaultdict(list)
        self.buffers: list[list[str]] = []
        self.loose: list[str] = []

    def _state(self) -> tuple[bool, bool]:
        in_root = any(root for _t, root, _f, _s in self.stack)
        in_svg = any(svg for _t, _r, _f, svg in self.stack)
        return in_root, in_svg

    def handle_starttag(self, tag, attrs) -> None:
        if tag in self.VOID:
            return
        attrs = dict(attrs)
        is_root = attrs.get("id") == self.root_id
        # Only figures inside the root element count.
        figure = attrs.get("data-figure") if (is_root or self._state()[0]) else None
        self.stack.append((tag, is_root, figure, tag == "svg"))
        if figure:
            self.buffers.append([])

    def handle_endtag(self, tag) -> None:
        if tag in self.VOID or not self.stack:
            return
        _tag, _root, figure, _svg = self.stack.pop()
        if figure:
            text = " ".join("".join(self.buffers.pop()).split())
            self.figures[figure].append(text)

    def handle_data(self, data) -> None:
        in_root, in_svg = self._state()
        if not in_root or in_svg:
            return
        if self.buffers:
            self.buffers[-1].append(data)
        else:
            self.loose.append(data)


def read_figures(html: str, root_id: str = "result") -> tuple[dict[str, list[str]], str]:
    """The data-figure values inside the element with root_id, and the text outside them
    (charts excluded), so a test can check that no number escaped a data-figure."""
    reader = _FigureReader(root_id)
    reader.feed(html)
    return dict(reader.figures), " ".join("".join(reader.loose).split())


def digits_in(text: str) -> list[str]:
    return re.findall(r"\d+", text)


# The reveal (recaps.reveal) of the same event, worked out by hand.
EXPECTED_REVEAL = {
    # Intelligence Squared: the side whose share of all votes rose most wins.
    # FOR: 9/21 - 7/16 = 42.857 - 43.75 = -0.893 points; AGAINST: 10/21 - 5/16 = 47.619 - 31.25
    # = +16.369 points. AGAINST gained more: AGAINST wins.
    "reveal-winner": "Against",
    "reveal-for-gain": "\u22120.9",
    "reveal-against-gain": "+16.4",
    # The margin-aware verdict beside it (see "verdict" above): 9 v 10 is evenly split.
    "reveal-verdict": "the room was evenly split",
    "reveal-swing": "\u22120.9",
    "reveal-pre_vote-for": "43.8%",
    "reveal-pre_vote-against": "31.3%",
    "reveal-pre_vote-undecided": "25.0%",
    "reveal-final_vote-for": "42.9%",
    "reveal-final_vote-against": "47.6%",
    "reveal-final_vote-undecided": "9.5%",
}
# The flow chart: of the 16 who voted twice, only FOR -> FOR (5) is a flow of five or more.
# Every other flow is 0 to 3 people, and no flow left out is pinned by the side totals: e.g.
# AGAINST -> AGAINST could be anything from 0 (the 5 of pre-AGAINST went FOR and UNDECIDED, as
# 4 + 2 places allow) to 5, so the chart draws one band.
EXPECTED_FLOWS = [(F, F, 5)]
