"""Voting over HTTP (plain form and htmx), the rules behind it, and the host's open/close."""

from __future__ import annotations

import pytest
from django.urls import reverse

from debates.models import Poll, PollKind, PollState, ResultsVisibility, Vote, VoteLog
from debates.selectors import ATTENDEE_SESSION_KEY, HOST_SESSION_KEY, poll_snapshot
from debates.services import voting
from debates.services.voting import Ballot
from tests.conftest import make_attendee

pytestmark = pytest.mark.django_db


@pytest.fixture
def poll(event) -> Poll:
    return voting.poll_open(event=event, kind=PollKind.PRE_VOTE)


@pytest.fixture
def voter(client, attendee):
    session = client.session
    session[ATTENDEE_SESSION_KEY] = {str(attendee.event_id): attendee.token}
    session.save()
    return client


def vote_url(event, poll_id) -> str:
    return reverse("debates:vote", kwargs={"slug": event.slug, "poll_id": poll_id})


def counts(poll) -> dict[str, int]:
    return poll_snapshot(poll_id=poll.pk).counts


def test_a_plain_form_vote_counts_and_redirects_back(voter, event, poll, attendee):
    response = voter.post(vote_url(event, poll.pk), {"side": "for"})
    assert response.status_code == 302
    assert response["Location"] == f"{event.get_absolute_url()}#poll-{poll.pk}"
    assert counts(poll) == {"for": 1, "against": 0, "undecided": 0}
    page = voter.get(event.get_absolute_url()).content.decode()
    assert "Your vote:" in page and 'value="for" class="for" aria-pressed="true"' in page


def test_an_htmx_vote_returns_the_poll_card_with_your_vote(voter, event, poll):
    response = voter.post(vote_url(event, poll.pk), {"side": "against"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<article class="card poll" id="poll-{poll.pk}"')
    assert "<html" not in html
    assert 'value="against" class="against" aria-pressed="true"' in html


def test_a_vote_can_be_changed_while_the_poll_is_open(voter, event, poll, attendee):
    for side in ("for", "against", "against", "undecided"):
        voter.post(vote_url(event, poll.pk), {"side": side})
    assert counts(poll) == {"for": 0, "against": 0, "undecided": 1}
    log = list(VoteLog.objects.filter(poll=poll).values_list("previous_side", "side"))
    assert log == [("", "for"), ("for", "against"), ("against", "undecided")]


def test_each_change_bumps_the_version_and_a_repeat_does_not(voter, event, poll):
    start = Poll.objects.get(pk=poll.pk).version
    voter.post(vote_url(event, poll.pk), {"side": "for"})
    voter.post(vote_url(event, poll.pk), {"side": "for"})
    assert Poll.objects.get(pk=poll.pk).version == start + 1


def test_it_refuses_a_closed_poll_with_409_and_the_reason(voter, event, poll):
    voter.post(vote_url(event, poll.pk), {"side": "for"})
    voting.poll_close(poll=poll)
    response = voter.post(vote_url(event, poll.pk), {"side": "against"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert response.content.decode() == str(voting.VOTE_POLL_CLOSED)
    assert counts(poll) == {"for": 1, "against": 0, "undecided": 0}


def test_a_refused_plain_form_vote_shows_the_page_with_the_reason(voter, event, poll):
    voting.poll_close(poll=poll)
    response = voter.post(vote_url(event, poll.pk), {"side": "against"})
    assert response.status_code == 409
    assert str(voting.VOTE_POLL_CLOSED) in response.content.decode()


def test_it_refuses_a_draft_poll(voter, event):
    draft = Poll.objects.create(event=event, kind=PollKind.FINAL_VOTE)
    response = voter.post(vote_url(event, draft.pk), {"side": "for"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert response.content.decode() == str(voting.VOTE_POLL_NOT_OPEN)


def test_it_refuses_a_poll_of_another_event(voter, event, other_event):
    foreign = voting.poll_open(event=other_event, kind=PollKind.PRE_VOTE)
    response = voter.post(vote_url(event, foreign.pk), {"side": "for"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    assert response.content.decode() == str(voting.VOTE_POLL_OTHER_EVENT)
    assert not Vote.objects.exists()


def test_it_refuses_an_unknown_poll(voter, event):
    response = voter.post(vote_url(event, 999999), {"side": "for"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    assert response.content.decode() == str(voting.VOTE_POLL_UNKNOWN)


@pytest.mark.parametrize("side", ["maybe", "", "FOR"])
def test_it_refuses_an_unknown_side(voter, event, poll, side):
    response = voter.post(vote_url(event, poll.pk), {"side": side}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert response.content.decode() == str(voting.VOTE_SIDE_UNKNOWN)
    assert not Vote.objects.exists()


def test_it_refuses_someone_who_has_not_joined(client, event, poll):
    response = client.post(vote_url(event, poll.pk), {"side": "for"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert response.content.decode() == str(voting.VOTE_ATTENDEE_UNKNOWN)


def test_it_refuses_a_forged_token(client, event, poll, attendee):
    session = client.session
    session[ATTENDEE_SESSION_KEY] = {str(event.pk): attendee.token + "x"}
    session.save()
    response = client.post(vote_url(event, poll.pk), {"side": "for"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert not Vote.objects.exists()


def test_voting_needs_post_and_csrf(event, poll, attendee):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    session = strict.session
    session[ATTENDEE_SESSION_KEY] = {str(event.pk): attendee.token}
    session.save()
    assert strict.get(vote_url(event, poll.pk)).status_code == 405
    assert strict.post(vote_url(event, poll.pk), {"side": "for"}).status_code == 403
    assert not Vote.objects.exists()


def test_the_pre_vote_and_the_final_vote_keep_their_own_tallies(voter, event, poll):
    voter.post(vote_url(event, poll.pk), {"side": "for"})
    voting.poll_close(poll=poll)
    final = voting.poll_open(event=event, kind=PollKind.FINAL_VOTE)
    voter.post(vote_url(event, final.pk), {"side": "against"})
    assert counts(poll) == {"for": 1, "against": 0, "undecided": 0}
    assert counts(final) == {"for": 0, "against": 1, "undecided": 0}


def test_hidden_results_are_not_on_the_attendee_page_until_the_close(voter, event):
    poll = voting.poll_open(
        event=event, kind=PollKind.PRE_VOTE, results_visibility=ResultsVisibility.AFTER_CLOSE
    )
    for i in range(3):
        voting.vote_cast(poll=poll, attendee=make_attendee(event, f"x{i}"), side="for")
    page = voter.get(event.get_absolute_url()).content.decode()
    assert "Results are shown when the poll closes." in page
    assert "100% · 3" not in page and "3 votes" in page
    voting.poll_close(poll=poll)
    assert "100% · 3" in voter.get(event.get_absolute_url()).content.decode()


# ---------------------------------------------------------------- the batch service


def test_the_batch_applies_ballots_in_order_and_refuses_each_bad_one_alone(event, other_event):
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    closed = voting.poll_open(event=event, kind=PollKind.FINAL_VOTE)
    voting.poll_close(poll=closed)
    foreign = voting.poll_open(event=other_event, kind=PollKind.PRE_VOTE)
    ada, bo = make_attendee(event, "Ada"), make_attendee(event, "Bo")
    outsider = make_attendee(other_event, "Cy")
    version = Poll.objects.get(pk=poll.pk).version

    def ballot(poll_, who, side, event_id=event.pk):
        return Ballot(poll_id=poll_.pk, attendee_id=who.pk, event_id=event_id, side=side)

    result = voting.votes_cast_batch(
        ballots=[
            ballot(poll, ada, "for"),
            ballot(poll, bo, "against"),
            ballot(poll, ada, "against"),
            ballot(closed, ada, "for"),
            ballot(foreign, ada, "for"),
            ballot(poll, ada, "sideways"),
            ballot(poll, outsider, "for"),  # claims this event, belongs to another
            ballot(poll, ada, "undecided"),
        ]
    )
    assert result.reasons == [
        None,
        None,
        None,
        str(voting.VOTE_POLL_CLOSED),
        str(voting.VOTE_POLL_OTHER_EVENT),
        str(voting.VOTE_SIDE_UNKNOWN),
        str(voting.VOTE_ATTENDEE_UNKNOWN),
        None,
    ]
    assert counts(poll) == {"for": 0, "against": 1, "undecided": 1}
    assert Poll.objects.get(pk=poll.pk).version == version + 1  # once per batch
    assert result.versions[poll.pk] == version + 1  # what the acknowledgements name
    assert VoteLog.objects.filter(poll=poll, attendee=ada).count() == 3
    assert not Vote.objects.filter(poll__in=[closed, foreign]).exists()

    refused = voting.VoteRefusal
    assert result.refusals == [
        None,
        None,
        None,
        refused.POLL_CLOSED,
        refused.POLL_OTHER_EVENT,
        refused.SIDE_UNKNOWN,
        refused.ATTENDEE_UNKNOWN,
        None,
    ]


def test_a_changed_vote_keeps_its_first_cast_and_its_flag_and_logs_the_side_it_left(
    event, poll, attendee
):
    """The batch writes first votes and changes with one upsert: a change moves only the side
    and updated_at; when the vote was first cast, and whether it counts, stay as stored."""
    voting.vote_cast(poll=poll, attendee=attendee, side="for")
    first = Vote.objects.get(poll=poll, attendee=attendee)
    Vote.objects.filter(pk=first.pk).update(counted=False)  # as a set-aside leaves it

    voting.vote_cast(poll=poll, attendee=attendee, side="against")

    changed = Vote.objects.get(poll=poll, attendee=attendee)
    assert changed.pk == first.pk and changed.side == "against"
    assert changed.cast_at == first.cast_at and changed.updated_at > first.updated_at
    assert changed.counted is False
    assert list(
        VoteLog.objects.filter(poll=poll, attendee=attendee).values_list("previous_side", "side")
    ) == [("", "for"), ("for", "against")]


def test_a_refused_vote_carries_the_code_of_its_rule_and_its_message(event, poll, attendee):
    voting.poll_close(poll=poll)
    with pytest.raises(voting.VoteRefused) as refused:
        voting.vote_cast(poll=poll, attendee=attendee, side="for")
    assert refused.value.code == voting.VoteRefusal.POLL_CLOSED
    assert refused.value.reason == str(voting.VOTE_POLL_CLOSED)


def test_every_vote_refusal_has_a_message_and_an_http_status():
    from debates.views.event import VOTE_REFUSAL_STATUS

    assert set(voting.VOTE_REFUSAL_MESSAGES) == set(voting.VoteRefusal)
    assert set(VOTE_REFUSAL_STATUS) == set(voting.VoteRefusal)
    assert VOTE_REFUSAL_STATUS[voting.VoteRefusal.TOO_FAST] == 429


# ---------------------------------------------------------------- the host's side


@pytest.fixture
def host(client, event):
    session = client.session
    session[HOST_SESSION_KEY] = {str(event.pk): event.host_key}
    session.save()
    return client


def console_url(event, name="console", **kwargs) -> str:
    return reverse(f"debates:{name}", kwargs={"slug": event.slug, **kwargs})


def test_the_host_link_opens_the_console_with_the_join_qr_code(client, event):
    response = client.get(console_url(event, "host_link", key=event.host_key))
    assert response["Location"] == console_url(event)
    page = client.get(console_url(event))
    assert page.status_code == 200
    # The join box (code and QR) loads from the screen view, which the host may read.
    screen = reverse("debates:screen", kwargs={"slug": event.slug})
    assert f'data-hx-get="{screen}"' in page.content.decode()
    assert b"data-screen-code" in client.get(screen).content


def test_a_wrong_host_link_is_refused(client, event):
    response = client.get(console_url(event, "host_link", key="guess"))
    assert response.status_code == 403
    assert client.get(console_url(event)).status_code == 403


@pytest.mark.parametrize("who", ["organiser", "host_user", "moderator_user"])
def test_organiser_host_and_moderator_reach_the_console(client, request, event, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(console_url(event)).status_code == 200


def test_a_stranger_and_an_attendee_do_not(client, voter, event, stranger_user):
    assert voter.get(console_url(event)).status_code == 403
    assert voter.post(console_url(event, "poll_open"), {"kind": "pre_vote"}).status_code == 403
    client.force_login(stranger_user)
    assert client.get(console_url(event)).status_code == 403
    assert not Poll.objects.exists()


def test_the_host_opens_and_closes_a_poll_and_sees_tally_and_turnout(host, event):
    response = host.post(
        console_url(event, "poll_open"),
        {"kind": "pre_vote", "results_visibility": "after_close"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    poll = Poll.objects.get(event=event, kind=PollKind.PRE_VOTE)
    assert poll.state == PollState.OPEN and poll.results_visibility == "after_close"
    for i, side in enumerate(["for", "for", "against"]):
        voting.vote_cast(poll=poll, attendee=make_attendee(event, f"v{i}"), side=side)
    make_attendee(event, "did not vote")

    page = host.get(console_url(event)).content.decode()
    assert "67% · 2" in page  # hosts see counts even while attendees do not
    assert "3 of 4 who joined have voted" in page

    response = host.post(console_url(event, "poll_close", poll_id=poll.pk))
    assert response.status_code == 302
    assert Poll.objects.get(pk=poll.pk).state == PollState.CLOSED


def test_the_host_can_reveal_results_while_the_poll_is_open(host, event):
    poll = voting.poll_open(
        event=event, kind=PollKind.PRE_VOTE, results_visibility=ResultsVisibility.AFTER_CLOSE
    )
    url = console_url(event, "poll_visibility", poll_id=poll.pk)
    assert host.post(url, {"results_visibility": "nonsense"}).status_code == 400
    host.post(url, {"results_visibility": "live"})
    assert Poll.objects.get(pk=poll.pk).results_visibility == ResultsVisibility.LIVE


def test_the_host_cannot_close_a_poll_of_another_event(host, event, other_event):
    foreign = voting.poll_open(event=other_event, kind=PollKind.PRE_VOTE)
    response = host.post(console_url(event, "poll_close", poll_id=foreign.pk))
    assert response.status_code == 404
    assert Poll.objects.get(pk=foreign.pk).state == PollState.OPEN
