"""Phases: the host moves the event through its running order, forwards or back."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from debates import live
from debates.services import phases, rounds, voting
from events.models import Phase

pytestmark = pytest.mark.django_db


def test_the_host_walks_through_every_phase(event, sent, django_capture_on_commit_callbacks):
    for phase in Phase.values[1:]:
        with django_capture_on_commit_callbacks(execute=True):
            phases.phase_set(event=event, phase=phase)
        event.refresh_from_db()
        assert event.phase == phase
    assert len(sent.to(live.event_group(event.pk))) == len(Phase.values) - 1


def test_the_host_can_go_back(event):
    phases.phase_set(event=event, phase=Phase.FINAL_VOTE)
    phases.phase_set(event=event, phase=Phase.OPENING)
    event.refresh_from_db()
    assert event.phase == Phase.OPENING


def test_setting_the_same_phase_again_announces_nothing(
    event, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        phases.phase_set(event=event, phase=Phase.LOBBY)
    assert sent == []


def test_an_unknown_phase_is_refused(event):
    with pytest.raises(ValidationError) as refused:
        phases.phase_set(event=event, phase="intermission")
    assert refused.value.messages == [phases.PHASE_UNKNOWN]
    event.refresh_from_db()
    assert event.phase == Phase.LOBBY


def test_leaving_breakouts_keeps_the_round_so_going_back_resumes_it(event):
    round_ = rounds.round_start(event=event, rooms=2, minutes=10)
    phases.phase_set(event=event, phase=Phase.OPENING)
    phases.phase_set(event=event, phase=Phase.BREAKOUTS)
    round_.refresh_from_db()
    assert round_.is_running


def test_opening_a_vote_moves_an_earlier_event_to_that_vote_but_never_backwards(event):
    from debates.models import PollKind

    voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    event.refresh_from_db()
    assert event.phase == Phase.PRE_VOTE

    phases.phase_set(event=event, phase=Phase.PLENARY)
    voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    event.refresh_from_db()
    assert event.phase == Phase.PLENARY

    voting.poll_open(event=event, kind=PollKind.FINAL_VOTE)
    event.refresh_from_db()
    assert event.phase == Phase.FINAL_VOTE
