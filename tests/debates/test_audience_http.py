"""Questions and reactions over HTTP (htmx, or plain forms without JavaScript), and the console's
questions panel, with allow and deny cases next to each other."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from debates import reaction_tally
from debates.models_audience import AudienceSettings, Question, QuestionStatus, ReactionCount
from debates.services import questions
from debates.views import audience
from tests.conftest import make_attendee
from tests.debates.sockets import session_for

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def phone(client, attendee):
    client.cookies["sessionid"] = session_for(attendee=attendee)
    return client


@pytest.fixture
def fresh_tally(monkeypatch):
    tally = reaction_tally.Tally()
    monkeypatch.setattr(reaction_tally, "_tally", tally)
    return tally


def url(name, event, *args):
    return reverse(f"debates:{name}", args=[event.slug, *args])


def test_an_attendee_asks_over_htmx_and_gets_the_list_back(phone, event):
    response = phone.post(url("question_ask", event), {"text": "Why?", "name": "Ada"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Why?" in body and str(audience.QUESTION_SENT) in body
    assert Question.objects.get().name == "Ada"


def test_without_javascript_asking_redirects_to_the_questions_page(phone, event):
    response = phone.post(url("question_ask", event), {"text": "Plain form?"})
    assert response.status_code == 302 and response["Location"] == url("questions", event)
    page = phone.get(response["Location"])
    assert "Plain form?" in page.content.decode()


def test_a_waiting_question_is_acknowledged_as_waiting(phone, event):
    AudienceSettings.objects.create(event=event, questions_premoderated=True)
    response = phone.post(url("question_ask", event), {"text": "Pending?"}, **HTMX)
    assert str(audience.QUESTION_WAITING) in response.content.decode()
    assert "Pending?" not in response.content.decode().split("data-question-list")[1]


@pytest.mark.parametrize(
    ("data", "status", "reason"),
    [
        ({"text": ""}, 400, questions.QUESTION_EMPTY),
        ({"text": "x" * 281}, 400, questions.QUESTION_TOO_LONG),
        ({"text": "Fine?", "name": "n" * 41}, 400, questions.QUESTION_NAME_TOO_LONG),
    ],
)
def test_a_bad_question_is_refused_with_its_message(phone, event, data, status, reason):
    response = phone.post(url("question_ask", event), data, **HTMX)
    assert response.status_code == status
    assert str(reason) in response.content.decode()
    assert not Question.objects.exists()


def test_the_rate_limit_answers_429_with_its_message(phone, event):
    for n in range(questions.QUESTION_RATE_LIMIT):
        phone.post(url("question_ask", event), {"text": f"Q{n}?"}, **HTMX)
    response = phone.post(url("question_ask", event), {"text": "More?"}, **HTMX)
    assert response.status_code == 429
    assert str(questions.QUESTION_TOO_FAST) in response.content.decode()


def test_a_stranger_cannot_ask_and_sees_how_to_join(client, event):
    response = client.post(url("question_ask", event), {"text": "Me?"}, **HTMX)
    assert response.status_code == 403
    assert str(questions.QUESTION_NOT_ATTENDEE) in response.content.decode()
    assert not Question.objects.exists()


def test_an_attendee_upvotes_and_takes_it_back(phone, event, attendee):
    question = questions.question_ask(event=event, attendee=make_attendee(event), text="Q?")
    phone.post(url("question_upvote", event, question.pk), {"up": "1"}, **HTMX)
    question.refresh_from_db()
    assert question.upvotes == 1
    phone.post(url("question_upvote", event, question.pk), {"up": "0"}, **HTMX)
    question.refresh_from_db()
    assert question.upvotes == 0


def test_upvoting_another_events_question_is_a_404(phone, event, other_event):
    elsewhere = questions.question_ask(
        event=other_event, attendee=make_attendee(other_event), text="?"
    )
    response = phone.post(url("question_upvote", event, elsewhere.pk), {"up": "1"}, **HTMX)
    assert response.status_code == 404


def test_a_stranger_cannot_upvote(client, event, attendee):
    question = questions.question_ask(event=event, attendee=attendee, text="Q?")
    response = client.post(url("question_upvote", event, question.pk), {"up": "1"}, **HTMX)
    assert response.status_code == 403
    question.refresh_from_db()
    assert question.upvotes == 0


def test_the_list_shows_names_only_when_given(client, event, attendee):
    questions.question_ask(event=event, attendee=attendee, text="Named?", name="Ada L.")
    questions.question_ask(event=event, attendee=attendee, text="Anonymous?")
    body = client.get(url("questions", event)).content.decode()
    assert "Ada L." in body and "Anonymous" in body
    assert attendee.display_name not in body.replace("Ada L.", "")


def test_a_reaction_tap_over_http_is_counted_and_beyond_the_rate_dropped_silently(
    phone, event, fresh_tally
):
    answers = [
        phone.post(url("reaction_tap", event), {"reaction": "agree"}, **HTMX).status_code
        for _ in range(reaction_tally.BURST + 2)
    ]
    assert answers == [204] * (reaction_tally.BURST + 2)
    assert sum(r.taps for r in ReactionCount.objects.all()) == reaction_tally.BURST


def test_a_reaction_from_a_stranger_or_of_an_unknown_kind_is_refused(phone, event, fresh_tally):
    stranger = Client()
    assert stranger.post(url("reaction_tap", event), {"reaction": "agree"}).status_code == 403
    response = phone.post(url("reaction_tap", event), {"reaction": "boo"})
    assert response.status_code == 400 and "agree" in response.content.decode()
    assert not ReactionCount.objects.exists()


def test_the_event_page_and_the_projector_hold_the_audience_sections(host_client, event, attendee):
    phone = Client()
    phone.cookies["sessionid"] = session_for(attendee=attendee)
    assert 'id="questions"' in phone.get(url("event", event)).content.decode()
    assert "data-reaction-meter" in host_client.get(url("projector", event)).content.decode()


# ---------------------------------------------------------------- the console's panel


def command(client, event, name, data):
    return client.post(url("console_command", event, name), data, **HTMX)


def test_the_console_panel_lists_waiting_and_shown_questions_for_hosts_only(
    host_client, event, attendee
):
    questions.questions_settings_set(event=event, premoderated=True, answered_in_recap=False)
    questions.question_ask(event=event, attendee=attendee, text="Waiting?")
    panel = host_client.get(url("console_panel", event, "questions"))
    assert panel.status_code == 200 and "Waiting?" in panel.content.decode()
    assert Client().get(url("console_panel", event, "questions")).status_code == 403


def test_a_host_moderates_through_the_console_commands(host_client, event, attendee):
    question = questions.question_ask(event=event, attendee=attendee, text="Q?")
    other = questions.question_ask(event=event, attendee=attendee, text="Dup?")
    assert command(host_client, event, "question.pin", {"question": question.pk}).status_code == 200
    assert (
        command(
            host_client, event, "question.merge", {"question": other.pk, "into": question.pk}
        ).status_code
        == 200
    )
    assert (
        command(host_client, event, "question.answer", {"question": question.pk}).status_code == 200
    )
    question.refresh_from_db()
    other.refresh_from_db()
    assert question.is_answered and not question.pinned
    assert other.status == QuestionStatus.MERGED
    response = command(
        host_client, event, "questions.settings", {"premoderated": "on", "answered_in_recap": "on"}
    )
    assert response.status_code == 200
    settings = AudienceSettings.objects.get(event=event)
    assert settings.questions_premoderated and settings.answered_in_recap


def test_an_attendee_cannot_run_a_question_command(phone, event, attendee):
    question = questions.question_ask(event=event, attendee=attendee, text="Q?")
    assert command(phone, event, "question.pin", {"question": question.pk}).status_code == 403
    question.refresh_from_db()
    assert not question.pinned


def test_a_refused_command_says_why(host_client, event, attendee):
    question = questions.question_ask(event=event, attendee=attendee, text="Q?")
    questions.question_hide(question=question)
    response = command(host_client, event, "question.pin", {"question": question.pk})
    assert response.status_code == 400
    assert str(questions.QUESTION_PIN_INVALID) in response.content.decode()
