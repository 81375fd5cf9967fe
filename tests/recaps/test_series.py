"""A motion's history across a series (issue 17): each published event's turnout, FOR shares,
swing and verdict side by side, equal to a hand calculation; withheld figures stay withheld."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from debates.models import Poll, PollKind, PollState, Vote
from events import lifecycle
from events.models import Attendee, Event, Phase, Side
from tests.conftest import make_event

pytestmark = pytest.mark.django_db

F, A, U = Side.FOR, Side.AGAINST, Side.UNDECIDED
MOTION = "Roadmaps do more harm than good"


def _evening(organiser, series, *, title, motion, days_ago, pre, final, extra=0, publish=True):
    """An ended event: `pre` and `final` are (FOR, AGAINST, UNDECIDED) counts, cast by the same
    people in order (the first person's pre-vote and final vote, and so on); `extra` people
    joined and never voted."""
    event = make_event(organiser, title=title, motion=motion)
    Event.objects.filter(pk=event.pk).update(
        series=series,
        phase=Phase.ENDED,
        recap_published=publish,
        starts_at=timezone.now() - timedelta(days=days_ago),
    )
    pre_sides = [F] * pre[0] + [A] * pre[1] + [U] * pre[2]
    final_sides = [F] * final[0] + [A] * final[1] + [U] * final[2]
    people = [
        Attendee.objects.create(event=event, token=secrets.token_urlsafe(8))
        for _ in range(max(len(pre_sides), len(final_sides)) + extra)
    ]
    for kind, sides in ((PollKind.PRE_VOTE, pre_sides), (PollKind.FINAL_VOTE, final_sides)):
        poll = Poll.objects.create(event=event, kind=kind, state=PollState.CLOSED)
        Vote.objects.bulk_create(
            Vote(poll=poll, attendee=person, side=side)
            for person, side in zip(people, sides, strict=False)
        )
    return Event.objects.get(pk=event.pk)


def _figures(html: str) -> dict[str, str]:
    return {
        key: re.sub(r"<[^>]+>", "", value).strip()
        for key, value in re.findall(r'data-figure="([^"]+)">(.*?)</td>', html, re.S)
    }


def test_the_series_page_sets_each_events_figures_side_by_side_as_worked_out_by_hand(organiser):
    series = lifecycle.series_for(organiser=organiser, name="Product nights 2026")
    first = _evening(
        organiser, series, title="March", motion=MOTION, days_ago=200,
        pre=(10, 10, 0), final=(16, 4, 0), extra=2,
    )  # fmt: skip
    second = _evening(
        organiser, series, title="June", motion="  roadmaps do MORE harm than good. ", days_ago=100,
        pre=(6, 9, 5), final=(9, 9, 2),
    )  # fmt: skip
    tiny = _evening(
        organiser, series, title="July", motion=MOTION, days_ago=60, pre=(2, 1, 0), final=(3, 0, 0)
    )
    other = _evening(
        organiser, series, title="August", motion="Estimates are a waste of time", days_ago=30,
        pre=(5, 5, 0), final=(4, 6, 0),
    )  # fmt: skip
    draft = _evening(
        organiser, series, title="Unpublished", motion=MOTION, days_ago=10,
        pre=(5, 0, 0), final=(5, 0, 0), publish=False,
    )  # fmt: skip
    body = Client().get(reverse("recaps:series", args=[series.slug])).content.decode()
    got = _figures(body)
    # By hand. March: 22 joined, 20 voted at the end; FOR 10/20 = 50.0% before, 16/20 = 80.0%
    # after, swing +30.0; 16 FOR to 4 AGAINST: the 95% Wilson interval of 0.8 with n = 20 is
    # 58.4% to 91.9%, above 50%: carried.
    # June: 20 joined and voted; FOR 6/20 = 30.0% then 9/20 = 45.0%, swing +15.0; 9 to 9 is
    # evenly split. July: 3 voters, under five, so every vote figure is withheld.
    expected = {
        "march-joined": "22", "march-final-voters": "20", "march-pre-for": "50.0%",
        "march-final-for": "80.0%", "march-swing": "+30.0", "march-verdict": "carried",
        "june-joined": "20", "june-final-voters": "20", "june-pre-for": "30.0%",
        "june-final-for": "45.0%", "june-swing": "+15.0", "june-verdict": "evenly split",
        "july-joined": "3", "july-final-voters": "3", "july-pre-for": "—",
        "july-final-for": "—", "july-swing": "—", "july-verdict": "—",
        "august-pre-for": "50.0%", "august-final-for": "40.0%", "august-swing": "−10.0",
        "august-verdict": "evenly split",
    }  # fmt: skip
    for key, value in expected.items():
        assert got.get(key) == value, (key, got.get(key))
    assert draft.slug not in body and "Unpublished" not in body
    # One motion, however it was typed, debated three times, oldest first; the other apart.
    sections = body.split('data-motion="')[1:]
    assert len(sections) == 2
    assert [s for s in (first.slug, second.slug, tiny.slug) if f'data-sitting="{s}"' in sections[0]] == [
        first.slug, second.slug, tiny.slug
    ]  # fmt: skip
    assert (
        sections[0].index(first.slug)
        < sections[0].index(second.slug)
        < sections[0].index(tiny.slug)
    )
    assert f'data-sitting="{other.slug}"' in sections[1]
    assert "Debated at 3 events." in body
    # The reason the small evening's figures are missing, in words; and the chart, with a bar
    # per shown vote only (two each for March and June, none for July).
    assert "Fewer than five people voted" in sections[0].split(f'data-sitting="{tiny.slug}"')[1]
    chart = sections[0][sections[0].index("<svg") : sections[0].index("</svg>")]
    assert chart.count('class="bar for"') == 4
    assert "FOR 80.0%" in chart and "FOR 45.0%" in chart


def test_the_recap_links_to_its_series_and_the_edit_form_names_it(organiser):
    client = Client()
    client.force_login(organiser)
    event = make_event(organiser, title="Solo")
    form = client.get(reverse("events:event_edit", args=[event.slug])).content.decode()
    assert 'name="series_name"' in form
    series = lifecycle.series_for(organiser=organiser, name="Season one")
    assert lifecycle.series_for(organiser=organiser, name=" season  ONE ") == series
    Event.objects.filter(pk=event.pk).update(series=series, phase=Phase.ENDED, recap_published=True)
    recap = client.get(reverse("recaps:recap", args=[event.slug])).content.decode()
    assert series.get_absolute_url() in recap
