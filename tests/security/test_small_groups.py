"""No published figure, alone or subtracted from another, tells how fewer than five people voted.

For each scenario (small rooms, events of one to four voters, people who voted in one poll only,
two rounds, a room of one, people in no room, and random events) the test reads what the public
recap, the organiser summary, the Markdown export and the votes CSV show, works out from the
database which attendees each shown figure stands for (independently of recaps.selectors), and
checks that every such set, and every difference of two nested sets, is empty or has at least
five people.
"""

from __future__ import annotations

import csv
import io
import random
import re
import secrets
from collections import Counter
from datetime import timedelta
from html import unescape
from itertools import combinations

import pytest
from django.urls import reverse

from debates.models import (
    BreakoutRoom,
    BreakoutRound,
    Poll,
    PollKind,
    PollState,
    RoomMember,
    Vote,
    VoteLog,
)
from events.models import Attendee, Event, Phase, Side
from recaps.disclosure import EVERYONE_ELSE, MIN_GROUP
from recaps.selectors import event_recap
from tests.conftest import make_event
from tests.recaps.known_votes import read_figures

pytestmark = pytest.mark.django_db

F, A, U = Side.FOR, Side.AGAINST, Side.UNDECIDED
SIDES = (F, A, U)
VOTES = ("pre", "final")


def build(
    organiser, people, rounds=(), *, title="Small groups", seed=0, order=None, start=None
) -> Event:
    """An ended, published event. people: (pre side, final side) per person, None for no vote;
    rounds: per round, {room name: [person indices]}; order: who votes first (else shuffled)."""
    rng = random.Random(seed)
    event = make_event(organiser, title=title)
    start = start or event.starts_at
    Event.objects.filter(pk=event.pk).update(
        phase=Phase.ENDED, recap_published=True, recap_published_at=start, starts_at=start
    )
    attendees = [
        Attendee.objects.create(event=event, token=secrets.token_urlsafe(16)) for _ in people
    ]
    for column, (kind, offset) in enumerate(((PollKind.PRE_VOTE, 0), (PollKind.FINAL_VOTE, 60))):
        poll = Poll.objects.create(
            event=event,
            kind=kind,
            state=PollState.CLOSED,
            opened_at=start + timedelta(minutes=offset),
            closed_at=start + timedelta(minutes=offset + 10),
        )
        if order is None:
            turns = list(range(len(people)))
            rng.shuffle(turns)
        else:
            turns = order
        for n, i in enumerate(turns):
            side = people[i][column]
            if side is None:
                continue
            at = poll.opened_at + timedelta(seconds=5 * n + 1)
            if rng.random() < 0.3:  # some change their mind: the log holds both
                first = rng.choice([s for s in SIDES if s != side])
                VoteLog.objects.create(poll=poll, attendee=attendees[i], side=first, at=at)
                VoteLog.objects.create(
                    poll=poll,
                    attendee=attendees[i],
                    side=side,
                    previous_side=first,
                    at=at + timedelta(seconds=2),
                )
            else:
                VoteLog.objects.create(poll=poll, attendee=attendees[i], side=side, at=at)
            Vote.objects.create(poll=poll, attendee=attendees[i], side=side)
    for number, rooms in enumerate(rounds, start=1):
        round_ = BreakoutRound.objects.create(
            event=event,
            number=number,
            started_at=start + timedelta(minutes=15 + number),
            ended_at=start + timedelta(minutes=30 + number),
        )
        for position, (name, members) in enumerate(rooms.items()):
            room = BreakoutRoom.objects.create(round=round_, name=name, position=position)
            for i in members:
                RoomMember.objects.create(room=room, round=round_, attendee=attendees[i])
    event.refresh_from_db()
    return event


# ---------------------------------------------------------------- what the database says


def _voters(event: Event, kind: str) -> frozenset[int]:
    return frozenset(
        Vote.objects.filter(poll__event=event, poll__kind=kind).values_list(
            "attendee_id", flat=True
        )
    )


def _room_set(event: Event, label: str, both: frozenset[int]) -> frozenset[int]:
    """The attendees behind a room row: its members who voted both times."""
    match = re.fullmatch(r"(.*) \(round (\d+)\)", label)
    name, rounds = (match[1], [int(match[2])]) if match else (label, None)
    rooms = BreakoutRoom.objects.filter(round__event=event, name=name)
    if rounds:
        rooms = rooms.filter(round__number__in=rounds)
    assert rooms.count() == 1, label
    members = RoomMember.objects.filter(room=rooms.get()).values_list("attendee_id", flat=True)
    return frozenset(members) & both


# ---------------------------------------------------------------- what the pages show


def _html_sets(event: Event, html: str, pre, final, both) -> dict[str, frozenset[int]]:
    figures, _loose = read_figures(html, "result")
    # An em dash is a figure left out.
    figures = {key: values for key, values in figures.items() if set(values) != {"—"}}
    shown: dict[str, frozenset[int]] = {}
    for key in figures:
        if key.startswith("pre-"):
            shown["pre: tally"] = pre
        elif key.startswith(("final-", "verdict")):
            shown["final: tally"] = final
        elif key.startswith("change-") or key == "swing":
            shown["pre: tally"], shown["final: tally"] = pre, final
        elif key.startswith(("transition-", "paired-")):
            shown["pre: both"] = shown["final: both"] = both
    rows = re.findall(
        r'<th scope="row">([^<]*)</th>\s*<td class="num" data-figure="room-(\d+)-voters">', html
    )
    labels = {n: unescape(label) for label, n in rows}
    assert {key.split("-")[1] for key in figures if key.startswith("room-")} == set(labels)
    rooms = {label: figures[f"room-{n}-voters"] for n, label in labels.items()}
    shown |= _room_sets(event, rooms, both)
    return shown


def _room_sets(event, rooms: dict[str, list[str]], both) -> dict[str, frozenset[int]]:
    """rooms: row label -> the voter count printed on it, checked against the database."""
    sets = {label: _room_set(event, label, both) for label in rooms if label != str(EVERYONE_ELSE)}
    if str(EVERYONE_ELSE) in rooms:
        sets[str(EVERYONE_ELSE)] = both - frozenset().union(*sets.values())
    for label, count in rooms.items():
        assert set(count) == {str(len(sets[label]))}, label
    # A row shows FOR's share before and after among those people.
    return {f"{vote}: room {label}": members for label, members in sets.items() for vote in VOTES}


def _markdown_sets(event: Event, md: str, pre, final, both) -> dict[str, frozenset[int]]:
    shown: dict[str, frozenset[int]] = {}
    for line in md.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and cells[0] in {"For", "Against", "Undecided"}:
            if cells[1] != "—":
                shown["pre: tally"] = pre
            if cells[2] != "—":
                shown["final: tally"] = final
    if "FOR won" in md or "Swing:" in md:
        shown["final: tally"] = final
    if "Pre-vote ↓ · final vote →" in md or "people who voted both times" in md:
        shown["pre: both"] = shown["final: both"] = both
    if "| Room | Voted twice |" in md:
        table = md.split("| Room | Voted twice |", 1)[1].split("\n\n", 1)[0]
        rows = [
            [c.strip() for c in line.strip("|").split("|")]
            for line in table.splitlines()[2:]
            if line.startswith("|")
        ]
        rooms = {row[0].replace("\\", ""): [row[1]] for row in rows}
        shown |= _room_sets(event, rooms, both)
    return shown


def _csv_sets(csv_text: str, pre, final, both) -> dict[str, frozenset[int]]:
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    polls: dict[str, set[str]] = {}
    for row in rows:
        polls.setdefault(row["voter"], set()).add(row["poll"])
    count = Counter(frozenset(p) for p in polls.values())
    shown: dict[str, frozenset[int]] = {}
    pre_rows = sum(n for p, n in count.items() if PollKind.PRE_VOTE in p)
    final_rows = sum(n for p, n in count.items() if PollKind.FINAL_VOTE in p)
    if pre_rows:
        assert pre_rows == len(pre)
        shown["pre: tally"] = pre
    if final_rows:
        assert final_rows == len(final)
        shown["final: tally"] = final
    linked = count[frozenset({PollKind.PRE_VOTE, PollKind.FINAL_VOTE})]
    if linked:
        # One number on a pre-vote and a final vote: the CSV splits the voters into those who
        # voted both times, pre-vote only and final vote only.
        assert linked == len(both)
        shown |= {
            "pre: both": both,
            "final: both": both,
            "pre: pre only": pre - both,
            "final: final only": final - both,
        }
    return shown


def timeline_steps(event: Event) -> dict[str, frozenset[int]]:
    """What each step of each tally chart adds to the one before (or to nothing, for the first):
    the votes cast or changed by the people active in it; from each step to any later one, by
    the people active in between. Not comparable with the other sets by subtraction (a step's
    counts are votes as they stood then), so these are checked on their own."""
    shown = {}
    for timeline in event_recap(event).timelines:
        kind = (
            PollKind.PRE_VOTE if timeline.label == PollKind.PRE_VOTE.label else PollKind.FINAL_VOTE
        )
        log = list(
            VoteLog.objects.filter(poll__event=event, poll__kind=kind).values_list(
                "attendee_id", "side", "previous_side", "at"
            )
        )
        before = None
        times = [None, *(step.at for step in timeline.steps)]
        for (i, since), (j, until) in combinations(enumerate(times), 2):
            entries = [e for e in log if (since is None or e[3] > since) and e[3] <= until]
            shown[f"{kind} from step {i} to {j}"] = frozenset(e[0] for e in entries)
        for step in timeline.steps:
            # The step's counts are the log replayed up to it: nothing is made up.
            counts = Counter()
            for _a, side, previous, at in log:
                if at <= step.at:
                    counts[side] += 1
                    counts[previous] -= 1 if previous else 0
            assert step.counts == tuple(counts[s] for s in SIDES)
            before = step.at
        if timeline.steps:
            assert before == max(e[3] for e in log)  # the last step ends the log
    return shown


def shown_sets(client, organiser, event: Event) -> dict[str, frozenset[int]]:
    """Every attendee set a figure on any page stands for, keyed by where it was seen."""
    pre, final = _voters(event, PollKind.PRE_VOTE), _voters(event, PollKind.FINAL_VOTE)
    both = pre & final
    slug = event.slug
    client.logout()
    public = client.get(reverse("recaps:recap", args=[slug])).content.decode()
    client.force_login(organiser)
    summary = client.get(reverse("recaps:summary", args=[slug])).content.decode()
    md = client.get(reverse("recaps:export_markdown", args=[slug])).content.decode()
    votes = client.get(reverse("recaps:export_votes", args=[slug])).content.decode()
    shown = {}
    for label, sets in (
        ("recap", _html_sets(event, public, pre, final, both)),
        ("summary", _html_sets(event, summary, pre, final, both)),
        ("markdown", _markdown_sets(event, md, pre, final, both)),
        ("votes.csv", _csv_sets(votes, pre, final, both)),
    ):
        shown |= {
            f"{key.split(': ', 1)[0]}: {label} {key.split(': ', 1)[1]}": members
            for key, members in sets.items()
        }
    return shown


def small_groups(shown: dict[str, frozenset[int]]) -> list[str]:
    """Every shown set, and every difference of two nested shown sets, of 1 to 4 people.

    Keys start with the vote a figure counts ("pre: ..." or "final: ..."): subtracting a
    pre-vote figure from a final-vote one says nothing about anyone's vote (people change),
    so only figures of the same vote are compared.
    """
    found = [f"{key} ({len(s)})" for key, s in shown.items() if 0 < len(s) < MIN_GROUP]
    for (key_a, a), (key_b, b) in combinations(shown.items(), 2):
        if key_a.split(":")[0] != key_b.split(":")[0]:
            continue
        for (k1, big), (k2, small) in (((key_a, a), (key_b, b)), ((key_b, b), (key_a, a))):
            if small <= big and 0 < len(big - small) < MIN_GROUP:
                found.append(f"{k1} minus {k2} ({len(big - small)})")
    return found


def _people(n, rng, *, pre=True, final=True):
    return [
        (rng.choice(SIDES) if pre else None, rng.choice(SIDES) if final else None) for _ in range(n)
    ]


def _scenario(name: str):
    rng = random.Random(name)
    both = lambda n: _people(n, rng)  # noqa: E731
    if name == "12 people, 2 of them in a small room (the report)":
        return both(12), [{"Big": range(10), "Small": [10, 11]}]
    if name.startswith("an event of "):
        n = int(name.split()[3])
        return both(n), [{"Everyone": range(n)}]
    if name == "2 pre-vote only and 3 final vote only":
        people = both(10) + _people(2, rng, final=False) + _people(3, rng, pre=False)
        return people, [{"A": range(6), "B": [6, 7, 8, 9, 10, 11]}]
    if name == "5 pre-vote only":
        people = both(10) + _people(5, rng, final=False)
        return people, [{"A": range(5), "B": range(5, 15)}]
    if name == "4 final voters among 12 pre-voters":
        people = both(4) + _people(8, rng, final=False)
        return people, [{"A": range(6), "B": range(6, 12)}]
    if name == "two rounds":
        return both(14), [
            {"A": range(7), "B": range(7, 14)},
            {"C": [0, 1, 2, 3, 4, 5, 7], "D": [6, 8, 9, 10, 11, 12, 13]},
        ]
    if name == "a room of 1":
        return both(13), [{"A": range(6), "B": range(6, 12), "C": [12]}]
    if name == "3 people in no room":
        return both(15), [{"A": range(6), "B": range(6, 12)}]
    if name == "a small room and people in no room, 5 together":
        return both(17), [{"A": range(6), "B": range(6, 12), "C": [12, 13]}]
    if name == "a room whose members mostly voted once":
        people = both(12) + _people(3, rng, final=False)
        return people, [{"A": [0, 1, 2, 3, 12, 13, 14], "B": range(4, 12)}]
    raise AssertionError(name)


SCENARIOS = [
    "12 people, 2 of them in a small room (the report)",
    *[f"an event of {n} voters" for n in range(1, 5)],
    "2 pre-vote only and 3 final vote only",
    "5 pre-vote only",
    "4 final voters among 12 pre-voters",
    "two rounds",
    "a room of 1",
    "3 people in no room",
    "a small room and people in no room, 5 together",
    "a room whose members mostly voted once",
]


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_figure_or_difference_of_two_figures_stands_for_one_to_four_people(
    client, organiser, name
):
    people, rounds = _scenario(name)
    event = build(organiser, people, rounds, seed=len(name))
    shown = shown_sets(client, organiser, event)
    assert small_groups(shown) == [], shown
    steps = timeline_steps(event)
    assert [key for key, voters in steps.items() if len(voters) < MIN_GROUP] == []


def test_random_events_show_no_small_group_either(client, organiser):
    with_rooms = 0
    for seed in range(20):
        rng = random.Random(seed)
        people = (
            _people(rng.randint(1, 40), rng)
            + _people(rng.choice([0, 0, rng.randint(1, 7)]), rng, final=False)
            + _people(rng.choice([0, 0, rng.randint(1, 7)]), rng, pre=False)
            + [(None, None)] * rng.randint(0, 2)
        )
        rng.shuffle(people)
        rounds = []
        for _round in range(rng.choice([0, 1, 1, 2])):
            rooms: dict[str, list[int]] = {f"R{n}": [] for n in range(rng.randint(1, 4))}
            in_a_room = rng.choice([1.0, 0.9])
            for i in range(len(people)):
                if rng.random() < in_a_room:
                    rooms[rng.choice(list(rooms))].append(i)
            rounds.append(rooms)
        event = build(organiser, people, rounds, title=f"Random {seed}", seed=seed)
        shown = shown_sets(client, organiser, event)
        assert small_groups(shown) == [], (seed, people, rounds)
        steps = timeline_steps(event)
        assert [key for key, voters in steps.items() if len(voters) < MIN_GROUP] == [], seed
        with_rooms += any(" room " in key for key in shown)
    # The random events are not all too small to show anything.
    assert with_rooms >= 3


def test_the_checker_finds_a_small_room_by_subtraction():
    # The figures the recap printed before this fix: the event, the table and the big room.
    everyone, big = frozenset(range(12)), frozenset(range(10))
    assert small_groups({"pre: tally": everyone, "pre: both": everyone, "pre: room Big": big}) == [
        "pre: tally minus pre: room Big (2)",
        "pre: both minus pre: room Big (2)",
    ]
    assert small_groups({"final: tally": frozenset(range(3))}) == ["final: tally (3)"]
    # A pre-vote figure and a final-vote figure do not subtract.
    assert small_groups({"pre: tally": everyone, "final: tally": big}) == []


def test_the_scenarios_still_show_figures_where_groups_are_big_enough(client, organiser):
    people, rounds = _scenario("a small room and people in no room, 5 together")
    event = build(organiser, people, rounds)
    shown = shown_sets(client, organiser, event)
    # Rooms A and B (six each) on their own, and C's two with the three in no room pooled.
    assert {key for key in shown if key.startswith("pre: recap room")} == {
        "pre: recap room A",
        "pre: recap room B",
        f"pre: recap room {EVERYONE_ELSE}",
    }
    assert {
        "pre: recap tally",
        "final: recap tally",
        "final: recap both",
        "pre: votes.csv both",
        "final: markdown room A",
    } <= set(shown)


# ---------------------------------------------------------------- the report, concretely


def _outputs(client, organiser, event: Event) -> tuple:
    slug = event.slug
    client.logout()
    public = client.get(reverse("recaps:recap", args=[slug])).content.decode()
    client.force_login(organiser)
    summary = client.get(reverse("recaps:summary", args=[slug])).content.decode()
    md = client.get(reverse("recaps:export_markdown", args=[slug])).content.decode()
    votes = list(
        csv.DictReader(
            io.StringIO(client.get(reverse("recaps:export_votes", args=[slug])).content.decode())
        )
    )
    ballots: dict[str, list[tuple[str, str]]] = {}
    for row in votes:
        ballots.setdefault(row["voter"], []).append((row["poll"], row["side"]))
    section = re.compile(r'<section id="result".*?</section>', re.S)
    return (
        read_figures(public, "result"),
        section.search(public)[0],
        read_figures(summary, "result"),
        md,
        sorted(tuple(b) for b in ballots.values()),
    )


def test_the_small_rooms_votes_cannot_be_worked_out_from_anything_published(client, organiser):
    # The report: 12 people, 2 in room Small, both votes held. Two events that differ only in
    # how Small voted (FOR twice, or AGAINST twice; two people in Big voted the other way, so
    # the event's totals agree) publish exactly the same figures, Markdown and CSV: nothing
    # published can tell them apart, so nothing published tells how Small voted.
    # Votes come in in the same order of sides, so even the tally charts agree.
    big = [(F, F)] * 4 + [(A, A)] * 2 + [(U, F)] * 2
    rooms = [{"Big": range(10), "Small": [10, 11]}]
    first = build(
        organiser, [*big, (A, A), (A, A), (F, F), (F, F)], rooms, title="Report", order=range(12)
    )
    second = build(
        organiser,
        [*big, (F, F), (F, F), (A, A), (A, A)],
        rooms,
        title="Report",
        order=[*range(8), 10, 11, 8, 9],
        start=first.starts_at,
    )
    a, b = _outputs(client, organiser, first), _outputs(client, organiser, second)
    assert a == b
    # ...and what they show is still a result: both votes' tallies and the verdict.
    figures, _ = a[0]
    assert figures["pre-total"] == figures["final-total"] == ["12"]
    assert "verdict" in figures
    assert not [key for key in figures if key.startswith("room-")]
    assert "| Big |" not in a[3] and "| Small |" not in a[3]
