"""The recap is written in its event's language, whatever the reader's: the page, the
organiser's summary, the Markdown export and the reveal pushed to every screen."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from debates import realtime_stage
from debates.models import Poll, PollKind
from events.models import Event
from recaps import reveal
from tests.recaps.known_votes import build_known_event

pytestmark = pytest.mark.django_db

ENGLISH_READER = {"accept-language": "en-GB,en"}
FRENCH_READER = {"accept-language": "fr-FR,fr"}


def _published_in(event: Event, language: str) -> Event:
    build_known_event(event)
    Event.objects.filter(pk=event.pk).update(
        language=language, recap_published=True, recap_published_at=timezone.now()
    )
    event.refresh_from_db()
    return event


def test_a_french_event_has_a_french_recap_for_an_english_reader(event):
    _published_in(event, "fr")
    page = Client(headers=ENGLISH_READER).get(reverse("recaps:recap", args=[event.slug]))
    text = page.content.decode()
    assert '<html lang="fr">' in text
    assert "Les deux votes, par camp" in text and "Vote initial" in text
    assert "The two votes, per side" not in text and "Pre-vote" not in text


def test_an_english_event_stays_english_for_a_french_reader(event):
    _published_in(event, "en-gb")
    page = Client(headers=FRENCH_READER).get(reverse("recaps:recap", args=[event.slug]))
    text = page.content.decode()
    assert '<html lang="en-gb">' in text
    assert "The two votes, per side" in text and "Les deux votes" not in text


def test_the_summary_and_the_markdown_follow_the_event_not_the_organiser(event, organiser):
    _published_in(event, "fr")
    client = Client(headers=ENGLISH_READER)
    client.force_login(organiser)
    summary = client.get(reverse("recaps:summary", args=[event.slug])).content.decode()
    assert "Synthèse pour l’organisateur" in summary and "Organiser summary" not in summary
    markdown = client.get(reverse("recaps:export_markdown", args=[event.slug]))
    assert "Animé par" in markdown.content.decode()
    assert "Hosted by" not in markdown.content.decode()


def test_the_reveal_pushed_to_every_screen_is_in_the_events_language(event):
    _published_in(event, "fr")
    with translation.override("en-gb"):  # whatever the pushing thread had active
        html = reveal.reveal_html(event.pk)
        assert translation.get_language() == "en-gb"  # and it is left as it was
    assert "Le résultat" in html and "The result" not in html
    Event.objects.filter(pk=event.pk).update(language="en-gb")
    with translation.override("fr"):
        assert "The result" in reveal.reveal_html(event.pk)


def test_the_cached_reveal_is_rendered_again_when_the_event_changes_language(event):
    _published_in(event, "fr")
    Poll.objects.filter(event=event, kind=PollKind.FINAL_VOTE).update(revealed_at=timezone.now())
    assert "Le résultat" in realtime_stage.reveal_html(event.pk)
    Event.objects.filter(pk=event.pk).update(language="en-gb")
    html = realtime_stage.reveal_html(event.pk)  # no vote changed: only the language did
    assert "The result" in html and "Le résultat" not in html
