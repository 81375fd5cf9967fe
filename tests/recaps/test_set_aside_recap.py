"""Set-aside votes in the summary, the public recap, the Markdown and the votes CSV: every
figure is the hand-worked one of the known event, as if the script had never voted; each says
how many votes were set aside; undo brings them back."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from debates import door
from debates.models import SetAside, Vote, VoteLog
from debates.services import set_aside
from events.models import Attendee, Event, Side
from recaps.selectors import event_recap
from tests.recaps.known_votes import EXPECTED, PEOPLE, build_known_event, read_figures

pytestmark = pytest.mark.django_db

SCRIPT = "script0000000000"
PRE, FINAL = int(EXPECTED["pre-total"]), int(EXPECTED["final-total"])
BOTH = int(EXPECTED["transition-total"])
BOTS = 6
ACTOR = set_aside.Actor(user_id=None, label="host link")


@pytest.fixture
def known(event):
    # Yesterday's event: a group's key reaches only people who have joined by now.
    Event.objects.filter(pk=event.pk).update(starts_at=timezone.now() - timedelta(days=1))
    event.refresh_from_db()
    return build_known_event(event)


@pytest.fixture
def stuffed(event, known) -> SetAside:
    """The known event, plus a script of six that joined during the pre-vote and voted AGAINST
    in both polls at once; then a host set it aside."""
    for n in range(BOTS):
        for kind, poll in known["polls"].items():
            joined = known["polls"]["pre_vote"].opened_at + timedelta(seconds=n)
            if kind == "pre_vote":
                bot = Attendee.objects.create(
                    event=event, token=secrets.token_urlsafe(16), network=SCRIPT, joined_at=joined
                )
                at = joined + timedelta(milliseconds=200)
            else:
                bot = Attendee.objects.get(event=event, joined_at=joined, network=SCRIPT)
                at = poll.opened_at + timedelta(seconds=1)
            Vote.objects.create(poll=poll, attendee=bot, side=Side.AGAINST, cast_at=at)
            VoteLog.objects.create(poll=poll, attendee=bot, side=Side.AGAINST, at=at)
    key = door.group_key(door.INSTANT, SCRIPT, timezone.now())
    return set_aside.set_aside(event=event, key=key, actor=ACTOR)


def _figures(html: str) -> dict[str, set[str]]:
    figures, _ = read_figures(html, "result")
    return {key: set(values) for key, values in figures.items()}


def test_the_selector_leaves_the_set_aside_votes_out_of_every_figure(event, stuffed):
    recap = event_recap(event)
    assert stuffed.votes == 2 * BOTS
    assert recap.set_aside_votes == 2 * BOTS
    assert (recap.result.pre.total, recap.result.final.total) == (PRE, FINAL)
    assert recap.result.transitions.total == BOTH
    # Turnout and the attendance curve count the people who joined, not the script.
    assert recap.turnout.attendees == len(PEOPLE)
    assert len(recap.attendance.joins) == len(PEOPLE)
    # The timelines replay the log without the script's votes.
    pre_timeline = recap.timelines[0]
    assert sum(pre_timeline.steps[-1].counts) == PRE


def test_the_public_recap_shows_the_hand_worked_figures_and_how_many_were_set_aside(
    client, event, stuffed
):
    Event.objects.filter(pk=event.pk).update(recap_published=True)
    html = client.get(reverse("recaps:recap", args=[event.slug])).content.decode()
    figures = _figures(html)
    assert figures.pop("set-aside-votes") == {str(2 * BOTS)}
    assert figures == {key: {value} for key, value in EXPECTED.items()}
    assert '<span data-figure="set-aside-votes">12</span> votes set aside by the host' in html


def test_the_summary_shows_the_figures_the_count_and_the_log(client, event, stuffed, organiser):
    client.force_login(organiser)
    html = client.get(reverse("recaps:summary", args=[event.slug])).content.decode()
    figures = _figures(html)
    assert figures.pop("set-aside-votes") == {str(2 * BOTS)}
    assert figures == {key: {value} for key, value in EXPECTED.items()}
    assert f'data-set-aside="{stuffed.pk}"' in html
    assert "6 instant voters from network script" in html
    assert "12 votes set aside by host link on" in html
    # The votes export's link says what the file leaves out.
    assert "leaves out 12 votes set aside by the host" in html


def test_the_markdown_says_how_many_were_set_aside(client, event, stuffed, organiser):
    client.force_login(organiser)
    md = client.get(reverse("recaps:export_markdown", args=[event.slug])).content.decode()
    assert "12 votes set aside by the host are not counted in these figures." in md
    assert f"| Votes | {PRE} | {FINAL} | |" in md


def test_the_votes_csv_leaves_the_set_aside_votes_out(client, event, stuffed, organiser):
    client.force_login(organiser)
    response = client.get(reverse("recaps:export_votes", args=[event.slug]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == PRE + FINAL
    assert len({row["voter"] for row in rows}) == len(PEOPLE) - 1  # one never voted


def test_undo_puts_the_votes_back_in_every_figure(client, event, stuffed, organiser):
    set_aside.set_aside_undo(set_aside=stuffed, actor=ACTOR)
    recap = event_recap(event)
    assert recap.set_aside_votes == 0
    assert (recap.result.pre.total, recap.result.final.total) == (PRE + BOTS, FINAL + BOTS)
    assert recap.turnout.attendees == len(PEOPLE) + BOTS

    client.force_login(organiser)
    html = client.get(reverse("recaps:summary", args=[event.slug])).content.decode()
    assert "set aside by the host are not counted" not in html
    assert "Undone by host link on" in html
    csv_rows = client.get(reverse("recaps:export_votes", args=[event.slug])).content
    assert len(csv_rows.decode().strip().splitlines()) == 1 + PRE + FINAL + 2 * BOTS
