"""The stage in the recap: the turns with their lengths, and what changed minds, shown only
where at least five switchers named it (tested at four and five), in the recap, the summary,
the Markdown export and the CSV."""

from __future__ import annotations

import pytest
from django.urls import reverse

from debates.services import clock, persuasion
from events.models import Side, Turn
from recaps.selectors import event_recap
from tests.debates.services.test_persuasion import highlighted, two_votes

pytestmark = pytest.mark.django_db

POINT = "Generalists learn the domain faster than experts learn product."


def switchers_naming(event, n: int):
    """n switchers name the highlighted point; two more switchers skip; one keeps their side."""
    people = [(Side.AGAINST, Side.FOR)] * (n + 2) + [(Side.FOR, Side.FOR)]
    attendees = two_votes(event, people)
    point = highlighted(event, text=POINT)
    for attendee in attendees[:n]:
        persuasion.mind_change_answer(attendee=attendee, point=point)
    for attendee in attendees[n : n + 2]:
        persuasion.mind_change_answer(attendee=attendee)
    return point


def test_a_point_five_switchers_named_is_shown_with_its_count(event):
    switchers_naming(event, 5)
    [shown] = event_recap(event).persuaders
    assert (shown.kind, shown.text, shown.side, shown.named_by) == ("point", POINT, Side.FOR, 5)


def test_a_point_four_switchers_named_is_not_shown_anywhere(event, organiser, client):
    switchers_naming(event, 4)
    assert event_recap(event).persuaders == ()
    client.force_login(organiser)
    slug = event.slug
    pages = [
        client.get(reverse(name, args=[slug])).content.decode()
        for name in (
            "recaps:summary",
            "recaps:recap",
            "recaps:export_markdown",
            "recaps:export_persuasion",
        )
    ]
    # The point itself is in the discussion (it is highlighted), but nowhere as a persuader.
    assert not any('id="persuaders-heading"' in page for page in pages[:2])
    assert "### What changed minds" not in pages[2]
    assert pages[3].splitlines() == ["rank,kind,text,side,switchers_naming_it"]


def test_summary_recap_markdown_and_csv_carry_what_changed_minds_without_names(
    event, organiser, client
):
    switchers_naming(event, 5)
    client.force_login(organiser)
    slug = event.slug
    for name in ("recaps:summary", "recaps:recap", "recaps:export_markdown"):
        page = client.get(reverse(name, args=[slug])).content.decode()
        assert "Generalists learn the domain faster" in page, name
        assert "Switcherix" not in page  # no attendee names
        if name != "recaps:export_markdown":
            assert 'data-figure="persuader-1-named">5</span> switchers named it' in page
    csv_text = client.get(reverse("recaps:export_persuasion", args=[slug])).content.decode()
    assert csv_text.splitlines()[0] == "rank,kind,text,side,switchers_naming_it"
    assert csv_text.splitlines()[1] == f"1,point,{POINT},for,5"


def test_the_recap_lists_the_turns_that_ran_with_their_lengths(event, organiser, client):
    Turn.objects.create(event=event, label="Opening FOR: Hal Host", side=Side.FOR, seconds=420)
    Turn.objects.create(event=event, label="Opening AGAINST: Mo", side=Side.AGAINST, seconds=300)
    clock.clock_start(event=event)
    clock.clock_add(event=event, seconds=60)
    clock.clock_next(event=event)
    turns = event_recap(event).turns
    assert [(t.label, t.planned_seconds, t.added_seconds) for t in turns] == [
        ("Opening FOR: Hal Host", 420, 60)
    ]
    client.force_login(organiser)
    page = client.get(reverse("recaps:recap", args=[event.slug])).content.decode()
    assert "Opening FOR: Hal Host" in page and "7:00" in page and "1:00" in page
