"""debates/page_cache.py: the join form and the event page are rendered once for everyone who
sees the same thing, and each person still gets what is theirs alone: their name, their own
votes, a CSRF token that works and a nonce that matches the CSP header."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from debates import page_cache
from debates.models import Poll, PollKind, PollState, ResultsVisibility
from debates.selectors import ATTENDEE_SESSION_KEY
from debates.services import voting
from events.models import Phase
from tests.conftest import make_attendee

pytestmark = pytest.mark.django_db

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def client_of(attendee, **options) -> Client:
    client = Client(**options)
    session = client.session
    session[ATTENDEE_SESSION_KEY] = {str(attendee.event_id): attendee.token}
    session.save()
    return client


@pytest.fixture
def open_poll(event):
    event.phase = Phase.PRE_VOTE
    event.save(update_fields=["phase"])
    return voting.poll_open(
        event=event, kind=PollKind.PRE_VOTE, results_visibility=ResultsVisibility.LIVE
    )


def test_two_attendees_each_see_their_own_name_from_one_rendering(event, monkeypatch):
    renders = []
    real = page_cache.render_to_string
    monkeypatch.setattr(
        page_cache, "render_to_string", lambda *a, **k: renders.append(1) or real(*a, **k)
    )
    ada, grace = make_attendee(event, "Ada"), make_attendee(event, "<b>Grace</b>")
    page_ada = client_of(ada).get(event.get_absolute_url()).content.decode()
    page_grace = client_of(grace).get(event.get_absolute_url()).content.decode()
    assert len(renders) == 1  # the second page came from the first's rendering
    assert "You are taking part as Ada." in page_ada and "Grace" not in page_ada
    assert "You are taking part as &lt;b&gt;Grace&lt;/b&gt;." in page_grace  # escaped
    assert "Ada" not in page_grace
    assert page_cache.NAME_MARK not in page_grace and page_cache.CSRF_MARK not in page_grace


def test_each_page_carries_its_own_working_csrf_token_and_its_own_nonce(event, open_poll):
    ada, grace = make_attendee(event, "Ada"), make_attendee(event, "Grace")
    tokens = []
    for person in (ada, grace):
        client = client_of(person, enforce_csrf_checks=True)
        response = client.get(event.get_absolute_url())
        page = response.content.decode()
        nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
        assert f'nonce="{nonce}"' in page and page_cache.NONCE_MARK not in page
        token = CSRF_INPUT.search(page).group(1)
        tokens.append(token)
        vote = client.post(
            reverse("debates:vote", args=[event.slug, open_poll.pk]),
            {"csrfmiddlewaretoken": token, "side": "for"},
        )
        assert vote.status_code in (200, 302)  # accepted: the token was this browser's
    assert tokens[0] != tokens[1]
    assert open_poll.votes.count() == 2


def test_a_token_from_someone_elses_page_is_refused(event, open_poll):
    ada, grace = make_attendee(event, "Ada"), make_attendee(event, "Grace")
    page = client_of(ada).get(event.get_absolute_url()).content.decode()
    stolen = CSRF_INPUT.search(page).group(1)
    grace_client = client_of(grace, enforce_csrf_checks=True)
    grace_client.get(event.get_absolute_url())  # her own CSRF cookie
    response = grace_client.post(
        reverse("debates:vote", args=[event.slug, open_poll.pk]),
        {"csrfmiddlewaretoken": stolen, "side": "for"},
    )
    assert response.status_code == 403


def test_own_votes_are_marked_for_their_voter_only(event, open_poll):
    ada, grace = make_attendee(event, "Ada"), make_attendee(event, "Grace")
    voting.vote_cast(poll=open_poll, attendee=ada, side="against")
    page_ada = client_of(ada).get(event.get_absolute_url()).content.decode()
    page_grace = client_of(grace).get(event.get_absolute_url()).content.decode()
    pressed = 'value="against" class="against" aria-pressed="true"'
    assert pressed in page_ada and pressed not in page_grace
    assert "You have not voted yet." in page_grace


def test_a_new_poll_version_or_phase_is_a_new_page_at_once(event, open_poll):
    ada = make_attendee(event, "Ada")
    client = client_of(ada)
    assert "Voting open" in client.get(event.get_absolute_url()).content.decode()
    voting.poll_close(poll=Poll.objects.get(pk=open_poll.pk))
    page = client.get(event.get_absolute_url()).content.decode()
    assert Poll.objects.get(pk=open_poll.pk).state == PollState.CLOSED
    assert "Voting open" not in page


def test_pending_messages_and_logged_in_visitors_get_pages_of_their_own(event, organiser, rf):
    visitor = Client()
    anonymous = visitor.get(event.get_absolute_url()).content.decode()
    signed_in = Client()
    signed_in.force_login(organiser)
    page = signed_in.get(event.get_absolute_url()).content.decode()
    assert "Log out" in page and "Log out" not in anonymous
    # A message waiting for this browser: its page is rendered for it alone.
    assert page_cache._personal(_request_with(signed_in, event)) is False
    session = signed_in.session
    session["_messages"] = '[["__json_message",0,20,"Saved."]]'
    session.save()
    assert page_cache._personal(_request_with(signed_in, event)) is True


def _request_with(client, event):
    response = client.get(event.get_absolute_url())
    return response.wsgi_request


def test_the_join_form_is_shared_and_keeps_the_code_from_the_link():
    first = Client().get("/join/?code=AB12CD").content.decode()
    second = Client().get("/join/").content.decode()
    assert 'value="AB12CD"' in first and 'value="AB12CD"' not in second


def test_french_and_english_readers_each_get_a_page_in_their_own_language(event, monkeypatch):
    renders = []
    real = page_cache.render_to_string
    monkeypatch.setattr(
        page_cache, "render_to_string", lambda *a, **k: renders.append(1) or real(*a, **k)
    )
    ada, grace = make_attendee(event, "Ada"), make_attendee(event, "Grace")
    url = event.get_absolute_url()
    english = client_of(ada).get(url).content.decode()
    french = client_of(grace, headers={"accept-language": "fr"}).get(url).content.decode()
    # The switch's cookie outranks Accept-Language, both ways.
    chosen = client_of(ada, headers={"accept-language": "fr"})
    chosen.cookies["django_language"] = "en-gb"
    english_again = chosen.get(url).content.decode()
    assert '<html lang="en-gb">' in english and "You are taking part as Ada." in english
    assert '<html lang="fr">' in french and "Vous participez sous le nom Grace." in french
    assert "taking part" not in french and "Vous participez" not in english_again
    assert "You are taking part as Ada." in english_again
    assert len(renders) == 2  # one rendering per language, the third page shared the first's


def test_the_shared_join_form_returns_each_reader_to_their_own_link(monkeypatch):
    renders = []
    real = page_cache.render_to_string
    monkeypatch.setattr(
        page_cache, "render_to_string", lambda *a, **k: renders.append(1) or real(*a, **k)
    )
    first = Client().get(reverse("debates:join") + "?code=ABC123&from=poster").content.decode()
    second = Client().get(reverse("debates:join") + "?code=ABC123&from=email").content.decode()
    assert len(renders) == 1
    assert 'name="next" value="/join/?code=ABC123&amp;from=poster"' in first
    assert 'name="next" value="/join/?code=ABC123&amp;from=email"' in second
    assert page_cache.NEXT_MARK not in second
