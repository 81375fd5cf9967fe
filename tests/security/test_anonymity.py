"""Anonymity of votes: no summary, recap, export or socket message says how a person voted.

Tallies are counts; the votes export numbers voters afresh; per-room figures are left out for
rooms where so few voted that room-mates could work out each other's votes.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse

from debates.models import PollKind
from debates.services import points, rounds, voting
from events.models import Event, Phase, Side
from recaps.disclosure import MIN_GROUP, WITHHELD_ROOMS
from recaps.selectors import event_recap
from tests.conftest import make_attendee
from tests.debates.sockets import in_thread, initial, open_socket, receive_until, session_for

NAMES = [
    "Ada Lovelace",
    "Bo Diddley",
    "Cy Twombly",
    "Di Fossey",
    "Ed Ruscha",
    "Flo Jo",
    "Gus Grissom",
    "Hal Foster",
]


@pytest.fixture
def held(event):
    """An ended, published event: eight named people in two rooms (six and two), two votes."""
    people = [make_attendee(event, name) for name in NAMES]
    pre = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    for i, person in enumerate(people):
        voting.vote_cast(poll=pre, attendee=person, side=(Side.FOR, Side.AGAINST)[i % 2])
    voting.poll_close(poll=pre)
    round_ = rounds.round_start(event=event, rooms=2, minutes=10, names=["Big", "Small"])
    big, small = round_.rooms.order_by("position")
    for i, person in enumerate(people):
        rounds.attendee_move(attendee=person, room=small if i >= 6 else big)
    points.point_add(
        room=small, attendee=people[7], theme=event.themes.first(), side=Side.FOR, text="Mine"
    )
    rounds.round_end(round_=round_)
    final = voting.poll_open(event=event, kind=PollKind.FINAL_VOTE)
    for person in people:
        voting.vote_cast(poll=final, attendee=person, side=Side.FOR)
    voting.poll_close(poll=final)
    Event.objects.filter(pk=event.pk).update(phase=Phase.ENDED, recap_published=True)
    event.refresh_from_db()
    return event, people


def _secrets(people) -> list[str]:
    return [p.display_name for p in people] + [p.token for p in people]


@pytest.mark.django_db
def test_summaries_and_exports_name_no_voter(held, client, organiser):
    event, people = held
    client.force_login(organiser)
    slug = event.slug
    pages = {
        "summary": client.get(reverse("recaps:summary", args=[slug])),
        "recap": client.get(reverse("recaps:recap", args=[slug])),
        "markdown": client.get(reverse("recaps:export_markdown", args=[slug])),
        "votes.csv": client.get(reverse("recaps:export_votes", args=[slug])),
        "points.csv": client.get(reverse("recaps:export_points", args=[slug])),
        "projector": client.get(reverse("debates:projector", args=[slug])),
    }
    for label, response in pages.items():
        assert response.status_code == 200, label
        text = response.content.decode()
        assert [s for s in _secrets(people) if s in text] == [], label

    rows = list(csv.DictReader(io.StringIO(pages["votes.csv"].content.decode())))
    assert list(rows[0]) == ["voter", "poll", "side"]  # no vote times
    assert len(rows) == 16
    assert {row["voter"] for row in rows} == {str(n) for n in range(1, 9)}  # 1..N, not ids
    # Each voter number keeps one person's two votes together, and nothing else about them.
    assert all(sum(r["voter"] == v for r in rows) == 2 for v in {r["voter"] for r in rows})


@pytest.mark.django_db
def test_room_figures_are_left_out_where_room_mates_could_tell_each_others_votes(held):
    event, _ = held
    result = event_recap(event).result
    # Eight voted both times: the transition table is shown. Small (two people) cannot be
    # shown, and Big (six) cannot either: the table minus Big would be Small.
    assert result.transitions.total == 8 >= MIN_GROUP
    assert result.rooms == ()
    assert result.rooms_pooled == ("Big", "Small")
    assert result.why["rooms"] == str(WITHHELD_ROOMS)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_over_the_socket_a_person_learns_only_their_own_vote(event):
    ada, bo = (
        await in_thread(make_attendee)(event, "Ada"),
        await in_thread(make_attendee)(event, "Bo"),
    )
    poll = await in_thread(voting.poll_open)(event=event, kind=PollKind.PRE_VOTE)
    await in_thread(voting.vote_cast)(poll=poll, attendee=ada, side=Side.AGAINST)
    watcher = await open_socket(event.slug, await in_thread(session_for)(attendee=bo))
    got = await initial(watcher)
    assert got["you.synced"][0]["votes"] == {}  # Bo's own (none), not Ada's
    await in_thread(voting.vote_cast)(poll=poll, attendee=ada, side=Side.FOR)
    tally = await receive_until(
        watcher,
        lambda m: (
            m["type"] == "tally.updated" and m["version"] > got["tally.updated"][0]["version"]
        ),
    )
    # A tally is counts and totals: no attendee, no name, no token.
    assert set(tally) <= {
        "type",
        "poll",
        "version",
        "kind",
        "state",
        "visible",
        "hidden_from_attendees",
        "total",
        "counts",
        "percent",
        "attendees",  # how many joined: a count like the rest
        "set_aside",  # how many votes a host set aside: a count, never by side
    }
    assert "Ada" not in json.dumps(tally) and ada.token not in json.dumps(tally)
    await watcher.disconnect()
