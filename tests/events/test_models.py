"""Every "one per" rule is held by the database, not only by the code that usually obeys it."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from debates.models import (
    BreakoutRoom,
    BreakoutRound,
    Point,
    PointUpvote,
    Poll,
    PollKind,
    RoomMember,
    Vote,
)
from events.models import Event, Side, Subscriber, Theme
from tests.conftest import make_attendee, make_event

pytestmark = pytest.mark.django_db


def test_it_refuses_two_votes_by_one_attendee_in_one_poll(event, attendee):
    poll = Poll.objects.create(event=event, kind=PollKind.PRE_VOTE)
    Vote.objects.create(poll=poll, attendee=attendee, side=Side.FOR)
    with pytest.raises(IntegrityError, match=r"(?i)unique"), transaction.atomic():
        Vote.objects.create(poll=poll, attendee=attendee, side=Side.AGAINST)
    assert Vote.objects.filter(poll=poll).count() == 1


def test_it_allows_the_same_attendee_to_vote_in_each_poll(event, attendee):
    pre = Poll.objects.create(event=event, kind=PollKind.PRE_VOTE)
    final = Poll.objects.create(event=event, kind=PollKind.FINAL_VOTE)
    Vote.objects.create(poll=pre, attendee=attendee, side=Side.FOR)
    Vote.objects.create(poll=final, attendee=attendee, side=Side.AGAINST)
    assert attendee.votes.count() == 2


def test_it_refuses_a_duplicate_join_code(organiser, event):
    other = make_event(organiser, title="Second")
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.filter(pk=other.pk).update(join_code=event.join_code)


def test_it_refuses_a_duplicate_slug(organiser, event):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_event(organiser, slug=event.slug)


def test_it_refuses_a_second_pre_vote_but_allows_many_ad_hoc_polls(event):
    Poll.objects.create(event=event, kind=PollKind.PRE_VOTE)
    Poll.objects.create(event=event, kind=PollKind.AD_HOC)
    Poll.objects.create(event=event, kind=PollKind.AD_HOC)
    with pytest.raises(IntegrityError), transaction.atomic():
        Poll.objects.create(event=event, kind=PollKind.PRE_VOTE)


def test_it_refuses_an_unknown_side(event, attendee):
    poll = Poll.objects.create(event=event, kind=PollKind.PRE_VOTE)
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(poll=poll, attendee=attendee, side="maybe")


def test_it_refuses_an_undecided_point(event, attendee):
    with pytest.raises(IntegrityError), transaction.atomic():
        Point.objects.create(
            event=event,
            theme=event.themes.first(),
            side=Side.UNDECIDED,
            text="Hmm",
            author=attendee,
        )


def test_it_refuses_two_upvotes_by_one_attendee(event, attendee):
    point = Point.objects.create(event=event, theme=event.themes.first(), side=Side.FOR, text="x")
    PointUpvote.objects.create(point=point, attendee=attendee)
    with pytest.raises(IntegrityError), transaction.atomic():
        PointUpvote.objects.create(point=point, attendee=attendee)


def test_it_refuses_an_attendee_in_two_rooms_of_one_round(event, attendee):
    round_ = BreakoutRound.objects.create(event=event, number=1)
    a = BreakoutRoom.objects.create(round=round_, name="A")
    b = BreakoutRoom.objects.create(round=round_, name="B")
    RoomMember.objects.create(room=a, round=round_, attendee=attendee)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoomMember.objects.create(room=b, round=round_, attendee=attendee)


def test_it_refuses_two_rooms_with_one_name_in_a_round(event):
    round_ = BreakoutRound.objects.create(event=event, number=1)
    BreakoutRoom.objects.create(round=round_, name="A")
    with pytest.raises(IntegrityError), transaction.atomic():
        BreakoutRoom.objects.create(round=round_, name="A")


def test_it_refuses_two_rounds_with_one_number(event):
    BreakoutRound.objects.create(event=event, number=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        BreakoutRound.objects.create(event=event, number=1)


def test_it_refuses_two_themes_with_one_name_in_an_event(event):
    with pytest.raises(IntegrityError), transaction.atomic():
        Theme.objects.create(event=event, name="Your career")


def test_it_refuses_a_duplicate_or_mixed_case_subscriber(event):
    Subscriber.objects.create(email="ada@example.org", consented_at=event.starts_at)
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscriber.objects.create(email="ada@example.org", consented_at=event.starts_at)
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscriber.objects.create(email="Bob@Example.org", consented_at=event.starts_at)


def test_it_refuses_a_duplicate_attendee_token(event, attendee):
    with pytest.raises(IntegrityError), transaction.atomic():
        other = make_attendee(event)
        other.token = attendee.token
        other.save()


def test_it_refuses_a_merged_point_without_a_target(event):
    with pytest.raises(IntegrityError), transaction.atomic():
        Point.objects.create(
            event=event, theme=event.themes.first(), side=Side.FOR, text="x", status="merged"
        )


def test_deleting_an_event_takes_its_themes_and_points(event, attendee):
    Point.objects.create(event=event, theme=event.themes.first(), side=Side.FOR, text="x")
    event.delete()
    assert not Point.objects.exists()
    assert not Theme.objects.exists()
