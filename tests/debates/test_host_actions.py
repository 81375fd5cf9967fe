"""The registry of host actions (debates.host_actions), called directly: what each refusal's code
is, and that the poll pages and the socket get the same validation as every console action."""

from __future__ import annotations

import pytest
from django.urls import reverse

from debates import host_actions
from debates.host_actions import HOST_ACTIONS, HostActionRefused, Refusal, host_action_run
from debates.models import Poll, PollKind, PollState, ResultsVisibility
from debates.services import set_aside, voting
from debates.services.rounds import EXTEND_MINUTES_RANGE
from events.models import Phase

pytestmark = pytest.mark.django_db

ACTOR = set_aside.Actor(user_id=None, label="test")
CONSOLE_PANELS = {
    "polls",
    "phase",
    "presence",
    "door",
    "round",
    "rooms",
    "plenary",
    "takeaways",
    "rehearsal",
    "questions",  # debates/console_questions.html (issue 15)
}
CONSOLE_PANELS |= {"clock", "reveal"}  # templates/debates/console_stage.html
CONSOLE_PANELS |= {"overlay"}  # templates/debates/overlay.html


def run(event, name, data):
    return host_action_run(event=event, name=name, data=data, actor=ACTOR)


def refusal(event, name, data) -> HostActionRefused:
    with pytest.raises(HostActionRefused) as refused:
        run(event, name, data)
    return refused.value


def test_every_action_has_a_form_and_shows_its_result_in_a_console_panel():
    assert HOST_ACTIONS  # the registry is not empty
    for name, action in HOST_ACTIONS.items():
        assert "." in name
        assert action.panel in CONSOLE_PANELS
        assert "event" in action.form.__init__.__code__.co_varnames  # scoped to the event


def test_an_action_that_passes_its_form_runs_its_service_and_returns_the_action(event):
    action = run(event, "phase.set", {"phase": Phase.PLENARY})
    assert action is HOST_ACTIONS["phase.set"]
    event.refresh_from_db()
    assert event.phase == Phase.PLENARY


def test_an_unknown_name_is_refused_as_unknown_and_changes_nothing(event):
    refused = refusal(event, "phase.jump", {"phase": Phase.PLENARY})
    assert refused.code == Refusal.UNKNOWN
    assert refused.reason == str(host_actions.ACTION_UNKNOWN)
    event.refresh_from_db()
    assert event.phase != Phase.PLENARY


def test_an_id_of_another_event_is_refused_as_not_in_the_event(event, other_event):
    foreign = voting.poll_open(event=other_event, kind=PollKind.PRE_VOTE)
    refused = refusal(event, "poll.close", {"poll": str(foreign.pk)})
    assert refused.code == Refusal.NOT_IN_EVENT
    assert refused.reason == str(host_actions.NOT_IN_EVENT)
    assert Poll.objects.get(pk=foreign.pk).state == PollState.OPEN


def test_input_that_does_not_fit_the_form_is_refused_as_invalid(event):
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    refused = refusal(event, "poll.visibility", {"poll": str(poll.pk), "results_visibility": "x"})
    assert refused.code == Refusal.INVALID
    assert refused.reason == str(host_actions.POLL_VISIBILITY_UNKNOWN)
    assert Poll.objects.get(pk=poll.pk).results_visibility == ResultsVisibility.LIVE


def test_a_rule_of_the_service_is_refused_with_its_message(live_event):
    event, round_ = live_event["event"], live_event["round"]
    refused = refusal(event, "round.extend", {"round": str(round_.pk), "minutes": "0"})
    assert refused.code == Refusal.RULE  # the form takes 0; the round's rule does not
    assert refused.reason == str(EXTEND_MINUTES_RANGE)


def test_the_poll_actions_open_change_and_close_a_poll(event):
    run(event, "poll.open", {"kind": PollKind.PRE_VOTE, "results_visibility": "after_close"})
    poll = Poll.objects.get(event=event, kind=PollKind.PRE_VOTE)
    assert (poll.state, poll.results_visibility) == (PollState.OPEN, "after_close")
    run(event, "poll.visibility", {"poll": str(poll.pk), "results_visibility": "live"})
    run(event, "poll.close", {"poll": str(poll.pk)})
    poll.refresh_from_db()
    assert (poll.state, poll.results_visibility) == (PollState.CLOSED, "live")


def test_the_poll_pages_answer_as_the_registry_does(client, host_user, event):
    # The poll buttons keep their URLs but go through the registry: the same message as the
    # socket's command.refused, and an id in the URL that names nothing here is a 404.
    client.force_login(host_user)
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    url = reverse("debates:poll_visibility", args=[event.slug, poll.pk])

    response = client.post(url, {"results_visibility": "nonsense"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 400
    assert response.content.decode() == str(host_actions.POLL_VISIBILITY_UNKNOWN)
    missing = reverse("debates:poll_close", args=[event.slug, poll.pk + 1000])
    assert client.post(missing).status_code == 404
    assert Poll.objects.get(pk=poll.pk).state == PollState.OPEN


def test_opening_a_poll_by_its_page_without_htmx_says_so_and_returns_to_the_polls(
    client, host_user, event
):
    client.force_login(host_user)
    url = reverse("debates:poll_open", args=[event.slug])

    response = client.post(url, {"kind": PollKind.PRE_VOTE, "results_visibility": "live"})

    assert response.status_code == 302
    assert response["Location"].endswith("#polls")
    page = client.get(response["Location"]).content.decode()
    assert "The poll is open." in page
    assert Poll.objects.get(event=event, kind=PollKind.PRE_VOTE).state == PollState.OPEN
