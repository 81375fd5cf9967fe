"""Issue 16 on the recap's pages: a room with no figures says why on its own row (#7), and
publishing asks first, without JavaScript too."""

from __future__ import annotations

import pytest
from django.urls import reverse

from events.models import Event, Phase
from tests.recaps.known_votes import build_known_event

pytestmark = pytest.mark.django_db

WHY = "Too few of its members voted twice to show it without revealing how they voted."


@pytest.fixture
def known(event):
    return build_known_event(event)


def test_a_room_without_figures_says_why_on_its_row(client, event, known, organiser):
    client.force_login(organiser)
    page = client.get(reverse("recaps:recap", args=[event.slug])).content.decode()
    # Summit: nobody in it voted twice (tests/recaps/test_recap.py), so its row says why.
    row = page.split("data-withheld-room>", 1)[1].split("</tr>", 1)[0]
    assert "Summit" in row and WHY in row and "data-figure" not in row

    markdown = client.get(reverse("recaps:export_markdown", args=[event.slug])).content.decode()
    assert "| Summit | — | — | — | — |" in markdown and WHY in markdown


def test_publishing_asks_first_even_without_javascript(client, event, known, organiser):
    Event.objects.filter(pk=event.pk).update(phase=Phase.ENDED)
    client.force_login(organiser)
    summary = reverse("recaps:summary", args=[event.slug])
    page = client.get(summary).content.decode()
    assert 'href="?confirm=publish#publish" data-confirm="publish">Publish the recap</a>' in page
    assert 'aria-labelledby="confirm-publish-title">' in page
    page = client.get(summary + "?confirm=publish").content.decode()
    assert 'aria-labelledby="confirm-publish-title" open>' in page and "Yes, publish it" in page
