"""The attendee's own page (issue 17): how they voted before and after, what moved them, what
they added, and the recap's link once published. Only the attendee sees it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from debates.models import PollKind
from debates.services import persuasion, phases, questions, voting
from events.models import Phase, Side
from recaps.services import recap_publish
from tests.conftest import make_attendee
from tests.debates.test_breakout import HTMX, as_attendee

pytestmark = pytest.mark.django_db


def page(event) -> str:
    return reverse("debates:my_page", args=[event.slug])


@pytest.fixture
def evening(event):
    """Ada moves from AGAINST to FOR, Bo stays FOR, Cy votes only before, Di never votes."""
    people = {name: make_attendee(event, name) for name in ("Ada", "Bo", "Cy", "Di")}
    pre = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    for name, side in (("Ada", Side.AGAINST), ("Bo", Side.FOR), ("Cy", Side.UNDECIDED)):
        voting.vote_cast(poll=pre, attendee=people[name], side=side)
    voting.poll_close(poll=pre)
    final = voting.poll_open(event=event, kind=PollKind.FINAL_VOTE)
    for name, side in (("Ada", Side.FOR), ("Bo", Side.FOR)):
        voting.vote_cast(poll=final, attendee=people[name], side=side)
    voting.poll_close(poll=final)
    return people


@pytest.mark.parametrize(
    ("name", "verdict"),
    [
        ("Ada", "You moved from Against to For."),
        ("Bo", "You stayed For."),
        ("Cy", "You voted before the debate but not at the end."),
        ("Di", "You did not vote in the pre-vote or the final vote."),
    ],
)
def test_each_attendee_reads_their_own_votes_before_and_after(event, evening, name, verdict):
    response = as_attendee(evening[name]).get(page(event))
    assert response.status_code == 200
    body = response.content.decode()
    assert verdict in " ".join(body.split())
    assert f"Only you see this page, {name}." in body


def test_what_moved_them_and_what_they_added_is_on_their_page_and_nobody_elses(event, evening):
    ada, bo = evening["Ada"], evening["Bo"]
    turn = event.turns.create(label="Closing for", side=Side.FOR, seconds=60, position=0)
    persuasion.mind_change_answer(attendee=ada, turn=turn)
    questions.question_ask(event=event, attendee=ada, text="Who pays for it?")
    mine = as_attendee(ada).get(page(event)).content.decode()
    assert "What changed your mind:" in mine and "Closing for" in mine
    assert "Who pays for it?" in mine
    theirs = as_attendee(bo).get(page(event)).content.decode()
    assert "Who pays for it?" not in theirs and "What changed your mind:" not in theirs


def test_nobody_but_the_attendee_sees_it(event, evening, other_event, host_client, client):
    url = page(event)
    # A stranger, the event's host and organiser (signed in, but not this attendee), and an
    # attendee of another event are refused with the reason, and shown no one's votes.
    stranger = client.get(url)
    host = host_client.get(url)
    elsewhere = as_attendee(make_attendee(other_event, "Eve")).get(url)
    for refused in (stranger, host, elsewhere):
        assert refused.status_code == 403
        text = refused.content.decode()
        assert "only for the person who took part" in text
        assert "Against" not in text and "Ada" not in text
    organiser = Client()
    organiser.force_login(event.organiser)
    assert organiser.get(url).status_code == 403
    # Each attendee sees their own name only.
    body = as_attendee(evening["Bo"]).get(url).content.decode()
    assert "Bo" in body and "Ada" not in body


def test_the_recap_link_appears_once_published_and_the_panel_tells_phones_to_reread(event, evening):
    client = as_attendee(evening["Ada"])
    phases.phase_set(event=event, phase=Phase.ENDED)
    before = client.get(page(event), **HTMX).content.decode()
    assert 'data-phase="ended" data-recap="0"' in before
    assert reverse("recaps:recap", args=[event.slug]) not in before
    recap_publish(event=event, publish=True)
    after = client.get(page(event), **HTMX).content.decode()
    assert 'data-phase="ended" data-recap="1"' in after
    assert reverse("recaps:recap", args=[event.slug]) in after
    # The whole page re-reads this part when phase.changed says the recap flag flipped.
    whole = client.get(page(event)).content.decode()
    assert 'data-refresh-on="phase.changed"' in whole
    assert f'data-refresh-url="{page(event)}"' in whole


def test_the_end_of_the_event_links_each_attendee_to_their_page(event, evening):
    phases.phase_set(event=event, phase=Phase.ENDED)
    body = as_attendee(evening["Ada"]).get(reverse("debates:event", args=[event.slug]))
    assert page(event) in body.content.decode()
