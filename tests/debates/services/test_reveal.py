"""The reveal: only after the final vote closes; a final vote kept "Only at the reveal" shows
its counts to the room from the reveal on; reopening the vote ends the reveal."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from debates import selectors
from debates.models import PollKind, ResultsVisibility
from debates.services import reveal, voting
from events.models import Side
from tests.conftest import make_attendee

pytestmark = pytest.mark.django_db


def public(poll) -> dict:
    return selectors.poll_snapshot(poll_id=poll.pk).message(full=False)


def test_there_is_nothing_to_reveal_before_the_final_vote_closes(event):
    with pytest.raises(ValidationError) as refused:
        reveal.reveal_show(event=event)
    assert refused.value.messages == [str(reveal.REVEAL_NO_FINAL)]
    voting.poll_open(event=event, kind=PollKind.FINAL_VOTE)
    with pytest.raises(ValidationError) as refused:
        reveal.reveal_show(event=event)
    assert refused.value.messages == [str(reveal.REVEAL_NOT_CLOSED)]


def test_a_final_vote_kept_for_the_reveal_stays_hidden_after_the_close_until_the_reveal(event):
    poll = voting.poll_open(
        event=event, kind=PollKind.FINAL_VOTE, results_visibility=ResultsVisibility.AFTER_REVEAL
    )
    voting.vote_cast(poll=poll, attendee=make_attendee(event), side=Side.FOR)
    voting.poll_close(poll=poll)
    hidden = public(poll)
    assert hidden["visible"] is False and "counts" not in hidden
    assert selectors.poll_snapshot(poll_id=poll.pk).message(full=True)["counts"][Side.FOR] == 1

    reveal.reveal_show(event=event)
    shown = public(poll)
    assert shown["visible"] is True and shown["counts"][Side.FOR] == 1
    assert shown["version"] > hidden["version"]

    reveal.reveal_hide(event=event)
    assert public(poll)["visible"] is False


def test_a_final_vote_shown_after_the_close_is_visible_at_the_close_as_before(event):
    poll = voting.poll_open(
        event=event, kind=PollKind.FINAL_VOTE, results_visibility=ResultsVisibility.AFTER_CLOSE
    )
    voting.poll_close(poll=poll)
    assert public(poll)["visible"] is True


def test_reopening_the_final_vote_ends_the_reveal(event):
    poll = voting.poll_open(event=event, kind=PollKind.FINAL_VOTE)
    voting.poll_close(poll=poll)
    assert reveal.reveal_show(event=event).revealed_at is not None
    poll = voting.poll_open(event=event, kind=PollKind.FINAL_VOTE)
    assert poll.revealed_at is None


def test_only_the_final_vote_can_wait_for_the_reveal(event):
    with pytest.raises(ValidationError) as refused:
        voting.poll_open(
            event=event, kind=PollKind.PRE_VOTE, results_visibility=ResultsVisibility.AFTER_REVEAL
        )
    assert refused.value.messages == [str(voting.REVEAL_FINAL_ONLY)]
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    with pytest.raises(ValidationError):
        voting.poll_results_visibility_set(
            poll=poll, results_visibility=ResultsVisibility.AFTER_REVEAL
        )
