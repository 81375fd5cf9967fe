"""Points on a breakout room's board: adding and upvoting them, and their moderation."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from debates import live
from debates.live import protocol
from debates.models import (
    ARGUING_SIDES,
    BreakoutRoom,
    BreakoutRound,
    Point,
    PointStatus,
    PointUpvote,
    RoomMember,
)
from debates.services.notify import notify
from debates.services.rounds import ROUND_NOT_RUNNING
from events.models import Attendee, Theme

POINT_MAX_LENGTH = 280

POINT_EMPTY = _("Write your point first.")
POINT_TOO_LONG = _("Keep a point to 280 characters.")
POINT_SIDE_INVALID = _("A point argues FOR or AGAINST the motion.")
THEME_NOT_IN_EVENT = _("Choose one of this event's themes.")
NOT_A_ROOM_MEMBER = _("Only the people in this room can add to its board.")
POINT_ALREADY_UPVOTED = _("You have already upvoted this point.")
POINT_NOT_ON_BOARD = _("This point is no longer on the board.")
POINT_MERGE_INVALID = _("Merge a point into another point of the same event that is still shown.")
POINT_MERGE_ACROSS = _(
    "Merge a point only into one of the same side and theme: across them, the recap would "
    "count one side's argument for the other, or file it under another theme."
)
POINT_OWN = _("This is your own point: upvote other people's.")
POINT_NOT_HIDDEN = _("This point is not hidden.")
POINT_NOT_MERGED = _("This point is not merged.")
POINT_TOO_FAST = _("You have added a lot of points in the last minute. Wait a moment, then add it.")

# Limits (security): an attendee adds at most POINT_RATE_LIMIT points in any POINT_RATE_WINDOW.
# Counted from the points themselves, so every process sees the same count.
POINT_RATE_LIMIT = 6
POINT_RATE_WINDOW = timedelta(seconds=60)


def _clean_point_text(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise ValidationError(POINT_EMPTY, code="point_empty")
    if len(text) > POINT_MAX_LENGTH:
        raise ValidationError(POINT_TOO_LONG, code="point_too_long")
    return text


def _point_json(point: Point) -> dict:
    return {
        "point": point.pk,
        "room": point.room_id,
        "theme": point.theme_id,
        "side": point.side,
        "status": point.status,
        "highlighted": point.highlighted,
        "upvotes": point.upvotes,
        "merged_into": point.merged_into_id,
    }


def _notify_point(point: Point, message_type: str, *, highlights_changed: bool = False) -> None:
    """A room's board hears of its own points, the hosts of every point. Everyone else (the
    projector, the audience in the plenary) only hears that the highlighted points changed:
    one small message, and nothing about points nobody has chosen to show.
    """
    message = protocol.point_message(message_type, point=_point_json(point), text=point.text)
    if point.room_id:
        notify(live.room_group(point.room_id), message)
    notify(live.hosts_group(point.event_id), message)
    if highlights_changed:
        notify(
            live.event_group(point.event_id),
            protocol.highlights_changed(point.event_id),
        )


def _require_room_member(room: BreakoutRoom, attendee: Attendee) -> BreakoutRound:
    round_ = room.round
    if not round_.is_running:
        raise ValidationError(ROUND_NOT_RUNNING, code="round_not_running")
    if not RoomMember.objects.filter(room=room, attendee=attendee).exists():
        raise ValidationError(NOT_A_ROOM_MEMBER, code="not_a_room_member")
    return round_


@transaction.atomic
def point_add(
    *, room: BreakoutRoom, attendee: Attendee, theme: Theme, side: str, text: str
) -> Point:
    """A room member adds a point to the room's board, for one theme and one side."""
    text = _clean_point_text(text)
    if side not in ARGUING_SIDES:
        raise ValidationError(POINT_SIDE_INVALID, code="point_side_invalid")
    round_ = _require_room_member(room, attendee)
    if theme.event_id != round_.event_id:
        raise ValidationError(THEME_NOT_IN_EVENT, code="theme_not_in_event")
    since = timezone.now() - POINT_RATE_WINDOW
    # The attendee's row is the lock: two points sent at once are counted one after the other.
    Attendee.objects.select_for_update().filter(pk=attendee.pk).first()
    if Point.objects.filter(author=attendee, created_at__gte=since).count() >= POINT_RATE_LIMIT:
        raise ValidationError(POINT_TOO_FAST, code="rate_limited")
    point = Point.objects.create(
        event_id=round_.event_id, room=room, theme=theme, side=side, text=text, author=attendee
    )
    _notify_point(point, protocol.POINT_ADDED)
    return point


def _upvoters(point: Point) -> QuerySet[PointUpvote]:
    """Upvotes on a point and on the duplicates merged into it."""
    return PointUpvote.objects.filter(Q(point=point) | Q(point__merged_into=point))


def _recount_upvotes(point: Point) -> None:
    # Distinct people: whoever upvoted both a point and its duplicate counts once.
    point.upvotes = _upvoters(point).values("attendee_id").distinct().count()
    point.save(update_fields=["upvotes"])


@transaction.atomic
def point_upvote(*, point: Point, attendee: Attendee) -> Point:
    """A room member upvotes someone else's point on their room's board, once."""
    # Locked: concurrent upvotes queue, so the recount sees every committed row.
    point = Point.objects.select_for_update().select_related("room__round").get(pk=point.pk)
    if point.status != PointStatus.VISIBLE or point.room is None:
        raise ValidationError(POINT_NOT_ON_BOARD, code="point_not_on_board")
    _require_room_member(point.room, attendee)
    if point.author_id == attendee.pk:
        raise ValidationError(POINT_OWN, code="point_own")
    if _upvoters(point).filter(attendee=attendee).exists():
        raise ValidationError(POINT_ALREADY_UPVOTED, code="point_already_upvoted")
    try:
        with transaction.atomic():
            PointUpvote.objects.create(point=point, attendee=attendee)
    except IntegrityError:
        raise ValidationError(POINT_ALREADY_UPVOTED, code="point_already_upvoted") from None
    _recount_upvotes(point)
    _notify_point(point, protocol.POINT_UPVOTED)
    return point


def _point_for_update(point: Point) -> Point:
    return Point.objects.select_for_update().get(pk=point.pk)


@transaction.atomic
def point_hide(*, point: Point) -> Point:
    """A moderator takes an abusive point off every board and out of the recap."""
    point = _point_for_update(point)
    if point.status == PointStatus.VISIBLE:
        was_highlighted = point.highlighted
        point.status = PointStatus.HIDDEN
        point.highlighted = False
        point.save(update_fields=["status", "highlighted"])
        _notify_point(point, protocol.POINT_CHANGED, highlights_changed=was_highlighted)
    return point


@transaction.atomic
def point_unhide(*, point: Point) -> Point:
    point = _point_for_update(point)
    if point.status != PointStatus.HIDDEN:
        raise ValidationError(POINT_NOT_HIDDEN, code="point_not_hidden")
    point.status = PointStatus.VISIBLE
    point.save(update_fields=["status"])
    _notify_point(point, protocol.POINT_CHANGED)
    return point


@transaction.atomic
def point_merge(*, point: Point, into: Point) -> Point:
    """Folds a duplicate into another point of the same side and theme: the duplicate leaves
    the boards and its upvotes join the target's, counting each person once. Returns the target.
    """
    # Both rows locked in id order, so two merges of the same pair cannot deadlock.
    locked = {
        p.pk: p
        for p in Point.objects.select_for_update().filter(pk__in=[point.pk, into.pk]).order_by("pk")
    }
    point, into = locked.get(point.pk), locked.get(into.pk)
    if (
        point is None
        or into is None
        or point.pk == into.pk
        or point.event_id != into.event_id
        or point.status == PointStatus.MERGED
        or into.status != PointStatus.VISIBLE
    ):
        raise ValidationError(POINT_MERGE_INVALID, code="point_merge_invalid")
    if point.side != into.side or point.theme_id != into.theme_id:
        raise ValidationError(POINT_MERGE_ACROSS, code="point_merge_across")
    # One level only: what was merged into the duplicate now points at the target.
    Point.objects.filter(merged_into=point).update(merged_into=into)
    point.status = PointStatus.MERGED
    point.merged_into = into
    # A highlighted duplicate passes its highlight on: the recap keeps the argument.
    highlights_changed = point.highlighted
    into.highlighted = into.highlighted or point.highlighted
    point.highlighted = False
    point.save(update_fields=["status", "merged_into", "highlighted"])
    into.save(update_fields=["highlighted"])
    _recount_upvotes(into)
    _notify_point(point, protocol.POINT_CHANGED)
    _notify_point(into, protocol.POINT_CHANGED, highlights_changed=highlights_changed)
    return into


@transaction.atomic
def point_unmerge(*, point: Point) -> Point:
    """Undoes a merge: the point is shown again and the target's count drops back."""
    point = _point_for_update(point)
    if point.status != PointStatus.MERGED or point.merged_into_id is None:
        raise ValidationError(POINT_NOT_MERGED, code="point_not_merged")
    target = _point_for_update(point.merged_into)
    point.status = PointStatus.VISIBLE
    point.merged_into = None
    point.save(update_fields=["status", "merged_into"])
    _recount_upvotes(target)
    _recount_upvotes(point)
    _notify_point(point, protocol.POINT_CHANGED)
    _notify_point(target, protocol.POINT_CHANGED)
    return point


@transaction.atomic
def point_highlight(*, point: Point, highlighted: bool = True) -> Point:
    """Marks a point for the recap and the projector (or takes the mark off)."""
    point = _point_for_update(point)
    if highlighted and point.status != PointStatus.VISIBLE:
        raise ValidationError(POINT_NOT_ON_BOARD, code="point_not_on_board")
    if point.highlighted != highlighted:
        point.highlighted = highlighted
        point.save(update_fields=["highlighted"])
        _notify_point(point, protocol.POINT_CHANGED, highlights_changed=True)
    return point


@transaction.atomic
def point_edit(*, point: Point, text: str) -> Point:
    """A moderator rewords a point (a typo, or two duplicates summed up in one)."""
    text = _clean_point_text(text)
    point = _point_for_update(point)
    if point.text != text:
        point.text = text
        point.save(update_fields=["text"])
        _notify_point(point, protocol.POINT_CHANGED, highlights_changed=point.highlighted)
    return point
