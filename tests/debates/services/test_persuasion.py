"""What changed my mind: asked once of switchers, after the final vote closes; one highlighted
point or one turn, or skipped."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from debates.models import MindChange, Point, PollKind
from debates.services import persuasion, voting
from events.models import Side, Turn
from tests.conftest import make_attendee

pytestmark = pytest.mark.django_db


def two_votes(event, people: list[tuple[str | None, str | None]], *, close_final=True):
    """Attendees with (pre-vote, final vote) sides; None: no vote in that poll."""
    attendees = [make_attendee(event, f"Switcherix{i}") for i in range(len(people))]
    for column, kind in enumerate((PollKind.PRE_VOTE, PollKind.FINAL_VOTE)):
        poll = voting.poll_open(event=event, kind=kind)
        for attendee, sides in zip(attendees, people, strict=True):
            if sides[column] is not None:
                voting.vote_cast(poll=poll, attendee=attendee, side=sides[column])
        if column == 0 or close_final:
            voting.poll_close(poll=poll)
    return attendees


def highlighted(event, text="Generalists learn faster.", side=Side.FOR, **fields) -> Point:
    return Point.objects.create(
        event=event, theme=event.themes.first(), side=side, text=text, highlighted=True, **fields
    )


def test_a_switcher_names_a_highlighted_point_once(event):
    [switcher] = two_votes(event, [(Side.AGAINST, Side.FOR)])
    point = highlighted(event)
    answer = persuasion.mind_change_answer(attendee=switcher, point=point)
    assert (answer.point, answer.turn) == (point, None)
    with pytest.raises(ValidationError) as again:
        persuasion.mind_change_answer(attendee=switcher)
    assert again.value.messages == [str(persuasion.MIND_ALREADY)]


def test_a_switcher_may_name_a_turn_or_skip(event):
    first, second = two_votes(event, [(Side.FOR, Side.AGAINST), (Side.UNDECIDED, Side.FOR)])
    turn = Turn.objects.create(event=event, label="Closing AGAINST", side=Side.AGAINST, seconds=60)
    assert persuasion.mind_change_answer(attendee=first, turn=turn).turn == turn
    skipped = persuasion.mind_change_answer(attendee=second)
    assert (skipped.point, skipped.turn) == (None, None)


def test_someone_who_kept_their_side_or_voted_once_is_not_asked(event):
    kept, once = two_votes(event, [(Side.FOR, Side.FOR), (None, Side.FOR)])
    for attendee in (kept, once):
        with pytest.raises(ValidationError) as refused:
            persuasion.mind_change_answer(attendee=attendee, point=highlighted(event))
        assert refused.value.messages == [str(persuasion.MIND_NOT_SWITCHER)]
    assert not MindChange.objects.exists()


def test_nobody_is_asked_while_the_final_vote_is_open(event):
    [switcher] = two_votes(event, [(Side.AGAINST, Side.FOR)], close_final=False)
    with pytest.raises(ValidationError) as refused:
        persuasion.mind_change_answer(attendee=switcher)
    assert refused.value.messages == [str(persuasion.MIND_NOT_YET)]


def test_only_a_highlighted_point_of_the_event_can_be_named(event, other_event):
    [switcher] = two_votes(event, [(Side.AGAINST, Side.FOR)])
    plain = Point.objects.create(
        event=event, theme=event.themes.first(), side=Side.FOR, text="Not highlighted"
    )
    foreign_theme = other_event.themes.create(name="Elsewhere")
    foreign = Point.objects.create(
        event=other_event, theme=foreign_theme, side=Side.FOR, text="Other event", highlighted=True
    )
    for point in (plain, foreign):
        with pytest.raises(ValidationError) as refused:
            persuasion.mind_change_answer(attendee=switcher, point=point)
        assert refused.value.messages == [str(persuasion.MIND_CHOICE_UNKNOWN)]
