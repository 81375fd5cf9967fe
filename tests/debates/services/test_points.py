"""Points on a room's board, upvotes, and the moderator's plenary tools."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from debates import live, selectors
from debates.models import Point, PointStatus, PointUpvote
from debates.services import points, rounds
from events.models import Side, Theme
from tests.conftest import make_attendee

pytestmark = pytest.mark.django_db


@pytest.fixture
def room_of_three(event):
    """A running round with one room: Ada, Bo and Cy, and the event's first theme."""
    people = [make_attendee(event, name) for name in ("Ada", "Bo", "Cy")]
    round_ = rounds.round_start(event=event, rooms=1, minutes=20)
    return round_.rooms.get(), people, event.themes.first()


def add(room, who, theme, text="Specialists see what generalists miss.", side=Side.FOR):
    return points.point_add(room=room, attendee=who, theme=theme, side=side, text=text)


def test_a_member_adds_a_point_and_only_that_room_hears_the_text(
    room_of_three, sent, django_capture_on_commit_callbacks
):
    room, (ada, *_), theme = room_of_three
    with django_capture_on_commit_callbacks(execute=True):
        point = add(room, ada, theme, text="  Depth   beats breadth\n in audits.  ")

    assert (point.text, point.side, point.theme, point.author) == (
        "Depth beats breadth in audits.",
        Side.FOR,
        theme,
        ada,
    )
    [room_message] = sent.to(live.room_group(room.pk))
    assert room_message["type"] == "point.added" and room_message["text"] == point.text
    [host_message] = sent.to(live.hosts_group(room.round.event_id))
    assert host_message["point"] == point.pk
    # Other rooms and the projector hear nothing of an unmoderated point.
    assert sent.to(live.event_group(room.round.event_id)) == []


@pytest.mark.parametrize(
    ("text", "side", "reason"),
    [
        ("   ", Side.FOR, points.POINT_EMPTY),
        ("x" * 281, Side.FOR, points.POINT_TOO_LONG),
        ("Fine text", Side.UNDECIDED, points.POINT_SIDE_INVALID),
        ("Fine text", "maybe", points.POINT_SIDE_INVALID),
    ],
)
def test_bad_points_are_refused(room_of_three, text, side, reason):
    room, (ada, *_), theme = room_of_three
    with pytest.raises(ValidationError) as refused:
        add(room, ada, theme, text=text, side=side)
    assert refused.value.messages == [reason]
    assert not Point.objects.exists()


def test_a_point_of_exactly_the_limit_is_kept(room_of_three):
    room, (ada, *_), theme = room_of_three
    assert len(add(room, ada, theme, text="y" * points.POINT_MAX_LENGTH).text) == 280


def test_outsiders_and_other_events_themes_are_refused(room_of_three, event, other_event):
    room, (ada, *_), _ = room_of_three
    outsider = make_attendee(event, "Not in a room")
    with pytest.raises(ValidationError) as refused:
        add(room, outsider, event.themes.first())
    assert refused.value.messages == [points.NOT_A_ROOM_MEMBER]

    foreign = Theme.objects.create(event=other_event, name="Elsewhere")
    with pytest.raises(ValidationError) as refused:
        add(room, ada, foreign)
    assert refused.value.messages == [points.THEME_NOT_IN_EVENT]


def test_points_close_with_the_round(room_of_three):
    room, (ada, *_), theme = room_of_three
    rounds.round_end(round_=room.round)
    room.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        add(room, ada, theme)
    assert refused.value.messages == [rounds.ROUND_NOT_RUNNING]


def test_an_upvote_counts_once_per_attendee(room_of_three):
    room, (ada, bo, cy), theme = room_of_three
    point = add(room, ada, theme)
    points.point_upvote(point=point, attendee=bo)
    points.point_upvote(point=point, attendee=cy)
    with pytest.raises(ValidationError) as refused:
        points.point_upvote(point=point, attendee=bo)
    assert refused.value.messages == [points.POINT_ALREADY_UPVOTED]
    point.refresh_from_db()
    assert point.upvotes == 2


def test_an_author_cannot_upvote_their_own_point_but_everyone_else_can(room_of_three):
    room, (ada, bo, _), theme = room_of_three
    point = add(room, ada, theme)
    with pytest.raises(ValidationError) as refused:
        points.point_upvote(point=point, attendee=ada)
    assert refused.value.messages == [points.POINT_OWN]
    assert not PointUpvote.objects.filter(point=point).exists()
    points.point_upvote(point=point, attendee=bo)
    point.refresh_from_db()
    assert point.upvotes == 1


def test_only_room_members_upvote(room_of_three, event):
    room, (ada, *_), theme = room_of_three
    point = add(room, ada, theme)
    with pytest.raises(ValidationError) as refused:
        points.point_upvote(point=point, attendee=make_attendee(event, "Passer-by"))
    assert refused.value.messages == [points.NOT_A_ROOM_MEMBER]


def test_hidden_points_leave_the_board_and_the_plenary(room_of_three):
    room, (ada, bo, _), theme = room_of_three
    rude = add(room, ada, theme, text="Something rude")
    kept = add(room, bo, theme, text="Something useful", side=Side.AGAINST)
    points.point_highlight(point=rude)

    points.point_hide(point=rude)

    rude.refresh_from_db()
    assert rude.status == PointStatus.HIDDEN and not rude.highlighted
    assert list(selectors.room_points(room_id=room.pk)) == [kept]
    [group] = selectors.plenary_points(event_id=room.round.event_id)[:1]
    assert group.by_side[Side.FOR] == [] and group.by_side[Side.AGAINST] == [kept]
    with pytest.raises(ValidationError) as refused:
        points.point_upvote(point=rude, attendee=bo)
    assert refused.value.messages == [points.POINT_NOT_ON_BOARD]

    points.point_unhide(point=rude)
    rude.refresh_from_db()
    assert rude.status == PointStatus.VISIBLE


def test_merging_adds_upvotes_without_counting_anyone_twice(room_of_three):
    room, (ada, bo, cy), theme = room_of_three
    target = add(room, ada, theme, text="Specialists go deep.")
    duplicate = add(room, ada, theme, text="Specialists go deeper.")
    points.point_upvote(point=target, attendee=bo)
    points.point_upvote(point=duplicate, attendee=bo)  # bo upvoted both
    points.point_upvote(point=duplicate, attendee=cy)

    points.point_merge(point=duplicate, into=target)

    target.refresh_from_db()
    duplicate.refresh_from_db()
    assert target.upvotes == 2  # bo and cy, not three
    assert (duplicate.status, duplicate.merged_into) == (PointStatus.MERGED, target)
    assert list(selectors.room_points(room_id=room.pk)) == [target]
    # cy already backed this point through the duplicate.
    with pytest.raises(ValidationError) as refused:
        points.point_upvote(point=target, attendee=cy)
    assert refused.value.messages == [points.POINT_ALREADY_UPVOTED]
    with pytest.raises(ValidationError) as refused:
        points.point_upvote(point=target, attendee=ada)  # her own point
    assert refused.value.messages == [points.POINT_OWN]
    target.refresh_from_db()
    assert target.upvotes == 2


def test_merging_a_chain_keeps_one_level_and_unmerge_restores_counts(room_of_three):
    room, (ada, bo, cy), theme = room_of_three
    a, b, c = (add(room, ada, theme, text=t) for t in ("A point", "B point", "C point"))
    points.point_upvote(point=a, attendee=bo)
    points.point_upvote(point=b, attendee=cy)
    points.point_merge(point=a, into=b)
    points.point_merge(point=b, into=c)

    a.refresh_from_db()
    c.refresh_from_db()
    assert a.merged_into == c and c.upvotes == 2

    points.point_unmerge(point=a)
    a.refresh_from_db()
    c.refresh_from_db()
    assert (a.status, a.upvotes, c.upvotes) == (PointStatus.VISIBLE, 1, 1)


@pytest.mark.parametrize("case", ["itself", "other_event", "into_hidden", "already_merged"])
def test_invalid_merges_are_refused(room_of_three, other_event, case):
    room, (ada, *_), theme = room_of_three
    point, target = add(room, ada, theme, text="One"), add(room, ada, theme, text="Two")
    if case == "itself":
        target = point
    elif case == "other_event":
        foreign_theme = Theme.objects.create(event=other_event, name="T")
        target = Point.objects.create(event=other_event, theme=foreign_theme, side="for", text="x")
    elif case == "into_hidden":
        points.point_hide(point=target)
    else:
        points.point_merge(point=point, into=target)
    with pytest.raises(ValidationError) as refused:
        points.point_merge(point=point, into=target)
    assert refused.value.messages == [points.POINT_MERGE_INVALID]


@pytest.mark.parametrize("across", ["side", "theme", "side and theme"])
def test_a_merge_across_sides_or_themes_is_refused_and_changes_nothing(room_of_three, across):
    room, (ada, bo, _), theme = room_of_three
    other_theme = Theme.objects.exclude(pk=theme.pk).get(event=theme.event)
    point = add(room, ada, theme, text="For, on the first theme")
    target = add(
        room,
        bo,
        other_theme if "theme" in across else theme,
        text="The other point",
        side=Side.AGAINST if "side" in across else Side.FOR,
    )
    points.point_upvote(point=point, attendee=bo)
    with pytest.raises(ValidationError) as refused:
        points.point_merge(point=point, into=target)
    assert refused.value.messages == [points.POINT_MERGE_ACROSS]
    point.refresh_from_db()
    target.refresh_from_db()
    assert (point.status, point.merged_into, target.upvotes) == (PointStatus.VISIBLE, None, 0)


def test_a_merge_within_one_side_and_theme_is_allowed(room_of_three):
    room, (ada, bo, _), theme = room_of_three
    point, target = add(room, ada, theme, text="One"), add(room, bo, theme, text="Two")
    assert points.point_merge(point=point, into=target) == target


def test_highlighting_tells_the_projector_and_audience_to_show_it(
    room_of_three, sent, django_capture_on_commit_callbacks
):
    room, (ada, *_), theme = room_of_three
    event_id = room.round.event_id
    point = add(room, ada, theme, text="Recap-worthy")
    with django_capture_on_commit_callbacks(execute=True):
        points.point_highlight(point=point)

    assert list(selectors.highlighted_points(event_id=event_id)) == [point]
    assert sent.to(live.event_group(event_id)) == [
        {"type": "highlights.changed", "event": event_id}
    ]
    with django_capture_on_commit_callbacks(execute=True):
        points.point_hide(point=point)  # a hidden point leaves the projector too
    assert len(sent.to(live.event_group(event_id))) == 2
    assert not selectors.highlighted_points(event_id=event_id).exists()


def test_a_moderator_rewords_a_point(room_of_three):
    room, (ada, *_), theme = room_of_three
    point = add(room, ada, theme, text="teh point")
    points.point_edit(point=point, text="The point")
    point.refresh_from_db()
    assert point.text == "The point"
    with pytest.raises(ValidationError):
        points.point_edit(point=point, text="")


def test_the_plenary_groups_points_by_theme_and_side(room_of_three, event):
    room, (ada, bo, _), _ = room_of_three
    knowledge, career = event.themes.order_by("position")
    add(room, ada, career, text="Career for", side=Side.FOR)
    add(room, bo, knowledge, text="Knowledge against", side=Side.AGAINST)
    add(room, ada, knowledge, text="Knowledge for", side=Side.FOR)

    groups = selectors.plenary_points(event_id=event.pk)
    assert [
        (g.theme.name, [p.text for p in g.by_side["for"]], [p.text for p in g.by_side["against"]])
        for g in groups
    ] == [
        ("Domain knowledge", ["Knowledge for"], ["Knowledge against"]),
        ("Your career", ["Career for"], []),
    ]
    assert PointUpvote.objects.count() == 0
