"""A host's rehearsal: thirty simulated people run through the evening on the real services,
and the reset gives the draft back exactly; simulated people never count in a real event."""

from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from debates import crowd, selectors
from debates.models import Point, PointUpvote, PollKind, Rehearsal, Vote
from debates.models_audience import Question, QuestionUpvote
from debates.services import (
    clock,
    dealing,
    phases,
    reactions,
    rehearsal,
    reveal,
    rounds,
    takeaways,
    voting,
)
from events.models import Attendee, Event, Phase, Side, Turn
from events.services import attendee_join
from recaps.selectors import event_recap
from recaps.services import RECAP_REHEARSING, recap_publish
from tests.conftest import make_attendee

pytestmark = pytest.mark.django_db

AT = timezone.now()

# What differs between two renderings of the same page: the CSP nonce and the CSRF token.
PER_REQUEST = re.compile(r'(csrfmiddlewaretoken" value="|nonce="|Nonce": "|X-CSRFToken": ")[^"]*"')


def everything(event: Event, client: Client) -> dict:
    """What anyone could see of the event: every row of it, its tallies, the attendee count,
    the recap (figures and page), the summary and every export."""
    event = Event.objects.get(pk=event.pk)
    rows = {}
    for app in ("events", "debates"):
        for model in apps.get_app_config(app).get_models():
            if model is Rehearsal:
                continue  # the log of rehearsals, which the reset keeps
            fields = [f.attname for f in model._meta.concrete_fields if f.attname != "updated_at"]
            rows[model._meta.label] = list(model.objects.order_by("pk").values(*fields))
    pages = {
        name: PER_REQUEST.sub(r"\1", client.get(reverse(name, args=[event.slug])).content.decode())
        for name in (
            "recaps:recap",
            "recaps:summary",
            "recaps:export_markdown",
            "recaps:export_votes",
            "recaps:export_points",
            "debates:event",
        )
    }
    return {
        "rows": rows,
        "tallies": selectors.poll_snapshots(event_id=event.pk),
        "attendees": Attendee.objects.filter(event=event).count(),
        "joined": selectors.attendees_joined(event_id=event.pk),
        "recap": event_recap(event),
        "pages": pages,
    }


def steps(run: Rehearsal, rng: random.Random, seconds) -> list[bool]:
    """The crowd stepped at these seconds into the rehearsal (no waiting: a time scale)."""
    return [
        crowd.crowd_step(rehearsal_id=run.pk, rng=rng, now=run.started_at + timedelta(seconds=s))
        for s in seconds
    ]


def test_thirty_simulated_people_rehearse_the_evening_and_the_reset_leaves_nothing_behind(
    event, host_user
):
    host = Client()
    host.force_login(host_user)
    # The running order is the event's own set-up, before and after: the rehearsal runs it.
    for position, side in enumerate((Side.FOR, Side.AGAINST)):
        Turn.objects.create(event=event, label=f"Opening {side}", side=side, seconds=60,
                            position=position)  # fmt: skip
    before = everything(event, host)
    run = rehearsal.rehearsal_start(event=event, people=30, minutes=5)
    rng = random.Random(16)

    # They arrive over the first half (two and a half minutes).
    steps(run, rng, [30, 75])
    assert 0 < Attendee.objects.filter(event=event).count() < 30
    steps(run, rng, [150])
    simulated = Attendee.objects.filter(event=event)
    assert simulated.count() == 30 and all(a.simulated for a in simulated)
    # The speakers' clock, and the room reacting (as a process's tally hands its sums over).
    phases.phase_set(event=event, phase=Phase.OPENING)
    clock.clock_start(event=event)
    reactions.reactions_flush(
        sums={(event.pk, reactions.bucket_of(timezone.now()), "agree"): (12, 6)}
    )
    clock.clock_next(event=event)
    # The host opens the pre-vote: they vote at a human pace.
    pre = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    steps(run, rng, range(155, 215, 5))
    assert Vote.objects.filter(poll=pre).count() >= 20
    voting.poll_close(poll=pre)
    # The rooms: they go to theirs, add points and upvote each other's.
    rounds.round_start(event=event, rooms=dealing.rooms_suggested(people=30), minutes=10)
    steps(run, rng, range(220, 290, 5))
    assert Point.objects.filter(event=event).exists()
    assert PointUpvote.objects.filter(point__event=event).exists()
    assert not PointUpvote.objects.filter(attendee=F("point__author")).exists()  # nobody's own
    # Questions to the speakers, and upvotes of each other's.
    assert Question.objects.filter(event=event).exists()
    assert QuestionUpvote.objects.filter(question__event=event).exists()
    assert not QuestionUpvote.objects.filter(attendee=F("question__author")).exists()
    rounds.round_end(round_=selectors.round_latest(event_id=event.pk))
    final = voting.poll_open(event=event, kind=PollKind.FINAL_VOTE)
    steps(run, rng, range(290, 300, 2))
    voting.poll_close(poll=final)
    reveal.reveal_show(event=event)
    takeaways.takeaway_add(event=event, title="Rehearsed")
    phases.phase_set(event=event, phase=Phase.ENDED)
    with pytest.raises(ValidationError) as refused:
        recap_publish(event=event, publish=True)
    assert refused.value.messages == [RECAP_REHEARSING]
    assert everything(event, host) != before  # the screens moved
    # Time is up: the crowd stops by itself, and the event stays as it is until the reset.
    assert steps(run, rng, [301]) == [False]
    run.refresh_from_db()
    assert run.stopped_at == run.ends_at

    rehearsal.rehearsal_reset(event=event)

    assert everything(event, host) == before
    run.refresh_from_db()
    assert run.reset_at is not None
    event.refresh_from_db()
    assert (event.phase, event.rehearsing) == (Phase.LOBBY, False)


def test_the_crowd_stops_when_the_host_stops_it_and_takes_no_step_after(event):
    run = rehearsal.rehearsal_start(event=event, people=5, minutes=10)
    rng = random.Random(1)
    assert steps(run, rng, [60]) == [True]
    joined = Attendee.objects.filter(event=event).count()
    rehearsal.rehearsal_stop(event=event)
    assert steps(run, rng, [240]) == [False]
    assert Attendee.objects.filter(event=event).count() == joined
    rehearsal.rehearsal_reset(event=event)
    assert steps(run, rng, [250]) == [False]
    assert not Attendee.objects.filter(event=event).exists()


@pytest.mark.parametrize(
    "happened", ["joined", "poll", "phase", "takeaway", "published", "turn", "reactions"]
)
def test_only_a_draft_event_is_rehearsed(event, happened):
    if happened == "turn":  # a turn ran on the clock (the lobby again since)
        Turn.objects.create(event=event, label="Opening", side=Side.FOR, seconds=60, position=0)
        clock.clock_start(event=event)
    elif happened == "reactions":
        reactions.reactions_flush(sums={(event.pk, reactions.bucket_of(AT), "agree"): (1, 1)})
    elif happened == "joined":
        make_attendee(event, "Early bird")
    elif happened == "poll":
        voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    elif happened == "phase":
        phases.phase_set(event=event, phase=Phase.OPENING)
    elif happened == "takeaway":
        takeaways.takeaway_add(event=event, title="Written early")
    else:
        Event.objects.filter(pk=event.pk).update(
            phase=Phase.LOBBY, recap_first_published_at=timezone.now()
        )
    with pytest.raises(ValidationError) as refused:
        rehearsal.rehearsal_start(event=event, people=30, minutes=5)
    assert refused.value.messages == [rehearsal.REHEARSAL_NOT_DRAFT]
    assert not Rehearsal.objects.exists()
    assert not Event.objects.get(pk=event.pk).rehearsing


def test_a_draft_is_rehearsed_once_at_a_time_and_bad_sizes_are_refused(event):
    for people, minutes, reason in [
        (0, 5, rehearsal.REHEARSAL_PEOPLE_RANGE),
        (201, 5, rehearsal.REHEARSAL_PEOPLE_RANGE),
        (30, 0, rehearsal.REHEARSAL_MINUTES_RANGE),
        (30, 121, rehearsal.REHEARSAL_MINUTES_RANGE),
    ]:
        with pytest.raises(ValidationError) as refused:
            rehearsal.rehearsal_start(event=event, people=people, minutes=minutes)
        assert refused.value.messages == [reason]
    rehearsal.rehearsal_start(event=event, people=30, minutes=5)
    with pytest.raises(ValidationError) as refused:
        rehearsal.rehearsal_start(event=event, people=30, minutes=5)
    assert refused.value.messages == [rehearsal.REHEARSAL_UNDER_WAY]
    rehearsal.rehearsal_reset(event=event)
    rehearsal.rehearsal_start(event=event, people=30, minutes=5)  # again, after the reset


def test_stop_and_reset_need_a_rehearsal(event):
    for service in (rehearsal.rehearsal_stop, rehearsal.rehearsal_reset):
        with pytest.raises(ValidationError) as refused:
            service(event=event)
        assert refused.value.messages == [rehearsal.REHEARSAL_NONE]


def test_a_rehearsing_event_can_never_hold_a_published_recap(event):
    Event.objects.filter(pk=event.pk).update(rehearsing=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.filter(pk=event.pk).update(recap_first_published_at=timezone.now())
    Event.objects.filter(pk=event.pk).update(rehearsing=False)
    Event.objects.filter(pk=event.pk).update(recap_first_published_at=timezone.now())


def test_someone_who_joins_during_a_rehearsal_is_part_of_it_and_leaves_with_it(event):
    rehearsal.rehearsal_start(event=event, people=3, minutes=5)
    visitor = attendee_join(event=event, display_name="Curious")
    assert visitor.simulated
    rehearsal.rehearsal_reset(event=event)
    assert not Attendee.objects.filter(pk=visitor.pk).exists()
    real = attendee_join(event=event, display_name="On the night")
    assert not real.simulated


def test_simulated_people_join_only_a_rehearsing_event(event):
    with pytest.raises(ValidationError):
        attendee_join(event=event, display_name="Sim", simulated=True)
    assert not Attendee.objects.filter(event=event).exists()


def test_a_simulated_attendee_never_votes_in_a_real_event_and_a_real_one_does(event):
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    left_over = make_attendee(event, "Left over")
    Attendee.objects.filter(pk=left_over.pk).update(simulated=True)
    left_over.refresh_from_db()
    real = make_attendee(event, "Real")

    with pytest.raises(voting.VoteRefused) as refused:
        voting.vote_cast(poll=poll, attendee=left_over, side=Side.FOR)
    assert refused.value.code == voting.VoteRefusal.SIMULATED
    voting.vote_cast(poll=poll, attendee=real, side=Side.FOR)
    # The socket writer's batch applies the same rule, ballot by ballot.
    result = voting.votes_cast_batch(
        ballots=[
            voting.Ballot(poll.pk, left_over.pk, event.pk, Side.AGAINST),
            voting.Ballot(poll.pk, real.pk, event.pk, Side.AGAINST),
        ]
    )
    assert result.refusals == [voting.VoteRefusal.SIMULATED, None]
    assert list(Vote.objects.filter(poll=poll).values_list("attendee_id", "side")) == [
        (real.pk, Side.AGAINST)
    ]
    # While their event rehearses, they vote like anyone.
    Event.objects.filter(pk=event.pk).update(rehearsing=True)
    voting.vote_cast(poll=poll, attendee=left_over, side=Side.FOR)


def test_other_features_clean_up_at_the_reset_through_the_hook(event, monkeypatch):
    seen = []
    monkeypatch.setattr(rehearsal, "RESET_STEPS", [lambda e: seen.append(e.pk)])
    rehearsal.rehearsal_start(event=event, people=3, minutes=5)
    rehearsal.rehearsal_reset(event=event)
    assert seen == [event.pk]
