"""Issue 16 on the recap's pages: publishing asks first, without JavaScript too."""

from __future__ import annotations

import pytest
from django.urls import reverse

from events.models import Event, Phase
from tests.recaps.known_votes import build_known_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(event):
    return build_known_event(event)


def test_publishing_asks_first_even_without_javascript(client, event, known, organiser):
    Event.objects.filter(pk=event.pk).update(phase=Phase.ENDED)
    client.force_login(organiser)
    summary = reverse("recaps:summary", args=[event.slug])
    page = client.get(summary).content.decode()
    assert 'href="?confirm=publish#publish" data-confirm="publish">Publish the recap</a>' in page
    assert 'aria-labelledby="confirm-publish-title">' in page
    page = client.get(summary + "?confirm=publish").content.decode()
    assert 'aria-labelledby="confirm-publish-title" open>' in page and "Yes, publish it" in page
