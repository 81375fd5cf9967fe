"""Breakout rounds and their rooms: starting, filling, moving people, the countdown, the end."""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from debates import live, selectors
from debates.live import protocol
from debates.models import AssignmentMode, BreakoutRoom, BreakoutRound, RoomMember
from debates.room_mix import NOT_VOTED, room_mix
from debates.services.dealing import (
    MAX_ROOMS,
    MIN_ROOM_SIZE,
    room_count,
    rooms_deal_balanced,
    rooms_deal_random,
    too_few_pre_votes,
)
from debates.services.notify import notify, notify_event_changed
from events.models import Attendee, Event, Phase

MAX_ROOM_SIZE = 50
MAX_ROUND_MINUTES = 180
MAX_EXTEND_MINUTES = 60
ROUND_MESSAGE_MAX_LENGTH = 280
ROOM_NAME_MAX_LENGTH = 60
ROOM_LOCATION_MAX_LENGTH = 100

ROOMS_OR_SIZE = _("Choose either a number of rooms or a room size, not both.")
ROOM_COUNT_RANGE = _("Choose between 1 and 50 rooms.")
ROOM_SIZE_RANGE = _("A room holds between 2 and 50 people.")
ROUND_MINUTES_RANGE = _("A round lasts between 1 and 180 minutes.")
EXTEND_MINUTES_RANGE = _("Add or take off between 1 and 60 minutes.")
ASSIGNMENT_UNKNOWN = _("Choose how to fill the rooms: mixed by side, at random, or by choice.")
ROOM_NAMES_INVALID = _("Each room needs its own name, of at most 60 characters.")
ROOM_LINK_INVALID = _("A room's video link must be a full https:// address.")
ROOM_LOCATION_TOO_LONG = _("Keep a table or place name to 100 characters.")
ROUND_ALREADY_RUNNING = _("A breakout round is already running: bring everyone back first.")
ROUND_NOT_RUNNING = _("This breakout round has ended.")
ROOM_NOT_IN_ROUND = _("That room is not part of the running round.")
ROOM_FULL = _("That room is full: pick another one.")
ROOMS_ASSIGNED_BY_HOST = _("In this round the host assigns the rooms.")
ATTENDEE_NOT_IN_EVENT = _("That person is not at this event.")
ROUND_MESSAGE_EMPTY = _("Write a message first.")
ROUND_MESSAGE_TOO_LONG = _("Keep the message to 280 characters.")

_validate_room_link = URLValidator(schemes=["https", "http"])


def room_link_event(event: Event) -> str:
    """{event} in a room link pattern: 8 characters, not the slug (too long to read out, and a
    call room anyone could guess)."""
    return salted_hmac("productbreaks.room-link", str(event.pk), algorithm="sha256").hexdigest()[:8]


def room_video_link(*, event: Event, room_name: str) -> str:
    """The room's call link made from the event's pattern, e.g. a Jitsi room per breakout."""
    if not event.is_online or not event.room_video_pattern:
        return ""
    return event.room_video_pattern.replace("{event}", room_link_event(event)).replace(
        "{room}", slugify(room_name) or "room"
    )


def _room_names(names: Sequence[str], count: int) -> list[str]:
    chosen = [" ".join(name.split()) for name in names[:count]]
    taken = set(chosen)
    n = 1
    while len(chosen) < count:
        default = str(_("Room %(number)s") % {"number": n})
        n += 1
        if default not in taken:
            chosen.append(default)
            taken.add(default)
    if (
        any(not name or len(name) > ROOM_NAME_MAX_LENGTH for name in chosen)
        or len(set(chosen)) != len(chosen)
        or len(names) > count
    ):
        raise ValidationError(ROOM_NAMES_INVALID, code="room_names_invalid")
    return chosen


def _clean_room_link(url: str) -> str:
    url = url.strip()
    if url:
        try:
            _validate_room_link(url)
        except ValidationError:
            raise ValidationError(ROOM_LINK_INVALID, code="room_link_invalid") from None
    return url


def _clean_location(location: str) -> str:
    location = " ".join(location.split())
    if len(location) > ROOM_LOCATION_MAX_LENGTH:
        raise ValidationError(ROOM_LOCATION_TOO_LONG, code="room_location_too_long")
    return location


def _round_for_update(round_: BreakoutRound) -> BreakoutRound:
    """Locks the round: assignments within it (moves, late joiners, choices) queue here."""
    round_ = BreakoutRound.objects.select_for_update().get(pk=round_.pk)
    if not round_.is_running:
        raise ValidationError(ROUND_NOT_RUNNING, code="round_not_running")
    return round_


def _round_message(round_: BreakoutRound, message_type: str, **extra: object) -> dict:
    return protocol.round_message(
        message_type,
        round_id=round_.pk,
        number=round_.number,
        ends_at=round_.ends_at.isoformat() if round_.ends_at else None,
        **extra,
    )


def _room_json(room: BreakoutRoom) -> dict:
    return {
        "id": room.pk,
        "name": room.name,
        "video_url": room.video_url,
        "location": room.location,
    }


@transaction.atomic
def round_start(
    *,
    event: Event,
    minutes: int,
    rooms: int | None = None,
    size: int | None = None,
    mode: str = AssignmentMode.BALANCED,
    names: Sequence[str] = (),
    video_urls: Sequence[str] = (),
    locations: Sequence[str] = (),
    attendee_ids: Collection[int] | None = None,
    rng: random.Random | None = None,
) -> BreakoutRound:
    """Opens a breakout round: creates its rooms, fills them, starts the countdown.

    rooms=N makes N rooms; size=K makes as few rooms as hold everyone with at most K each.
    attendee_ids limits the round to those present (None: everyone who joined the event).
    Moves the event to the breakouts phase. Dealt rooms (mixed or random) never hold fewer
    than MIN_ROOM_SIZE people (room_count), so fewer rooms than asked may open. Rooms mixed by
    pre-vote side with hardly any pre-votes (too_few_pre_votes) are filled at random instead,
    and the round says so (BreakoutRound.mixed_at_random).
    """
    if (rooms is None) == (size is None):
        raise ValidationError(ROOMS_OR_SIZE, code="rooms_or_size")
    if rooms is not None and not 1 <= rooms <= MAX_ROOMS:
        raise ValidationError(ROOM_COUNT_RANGE, code="room_count_range")
    if size is not None and not MIN_ROOM_SIZE <= size <= MAX_ROOM_SIZE:
        raise ValidationError(ROOM_SIZE_RANGE, code="room_size_range")
    if not 1 <= minutes <= MAX_ROUND_MINUTES:
        raise ValidationError(ROUND_MINUTES_RANGE, code="round_minutes_range")
    if mode not in AssignmentMode.values:
        raise ValidationError(ASSIGNMENT_UNKNOWN, code="assignment_unknown")
    rng = rng or random.Random()  # mixing rooms, not a secret

    # Locking the event serialises two hosts pressing "start" at once.
    event = Event.objects.select_for_update().get(pk=event.pk)
    if BreakoutRound.objects.filter(
        event=event, started_at__isnull=False, ended_at__isnull=True
    ).exists():
        raise ValidationError(ROUND_ALREADY_RUNNING, code="round_already_running")

    sides = selectors.pre_vote_sides(event_id=event.pk, attendee_ids=attendee_ids)
    mixed_at_random = mode == AssignmentMode.BALANCED and too_few_pre_votes(sides)
    if mixed_at_random:
        mode = AssignmentMode.RANDOM
    asked = rooms if rooms is not None else max(1, math.ceil(len(sides) / size))
    # People who choose may pick any room, and late joiners fill them: all the rooms asked
    # for open. Dealt rooms open only as many as the people present fill: no room of one.
    count = asked if mode == AssignmentMode.CHOICE else room_count(people=len(sides), rooms=asked)
    if len(names) <= asked:
        names = names[:count]
    room_names = _room_names(names, count)
    links = [_clean_room_link(url) for url in video_urls[:count]]
    places = [_clean_location(place) for place in locations[:count]]

    now = timezone.now()
    number = (event.breakout_rounds.aggregate(Max("number"))["number__max"] or 0) + 1
    round_ = BreakoutRound.objects.create(
        event=event,
        number=number,
        assignment=mode,
        started_at=now,
        ends_at=now + timedelta(minutes=minutes),
        mixed_at_random=mixed_at_random,
    )
    if mode == AssignmentMode.BALANCED:
        groups = rooms_deal_balanced(sides=sides, room_count=count, rng=rng)
    elif mode == AssignmentMode.RANDOM:
        groups = rooms_deal_random(attendee_ids=sorted(sides), room_count=count, rng=rng)
    else:
        groups = [[] for _ in room_names]
    created = BreakoutRoom.objects.bulk_create(
        BreakoutRoom(
            round=round_,
            name=name,
            position=i,
            video_url=(links[i] if i < len(links) and links[i] else "")
            or room_video_link(event=event, room_name=name),
            location=places[i] if i < len(places) else "",
            # The only balance hosts see, frozen now: see debates/room_mix.py.
            mix_at_start=room_mix(sides[a] for a in groups[i]),
        )
        for i, name in enumerate(room_names)
    )
    RoomMember.objects.bulk_create(
        RoomMember(room=room, round=round_, attendee_id=attendee_id)
        for room, members in zip(created, groups, strict=True)
        for attendee_id in members
    )
    if event.phase != Phase.BREAKOUTS:
        event.phase = Phase.BREAKOUTS
        event.save(update_fields=["phase", "updated_at"])

    assignments = {
        str(attendee_id): room.pk
        for room, members in zip(created, groups, strict=True)
        for attendee_id in members
    }
    notify(
        live.event_group(event.pk),
        _round_message(
            round_,
            protocol.ROUND_STARTED,
            assignment=mode,
            rooms=[_room_json(room) for room in created],
            assignments=assignments,
        ),
    )
    notify_event_changed(event.pk)
    return round_


def _room_sizes(round_: BreakoutRound) -> dict[int, int]:
    sizes = dict.fromkeys(round_.rooms.values_list("pk", flat=True), 0)
    sizes.update(
        RoomMember.objects.filter(round=round_)
        .values("room_id")
        .annotate(n=Count("pk"))
        .values_list("room_id", "n")
    )
    return sizes


def _notify_assigned(
    round_: BreakoutRound, attendee: Attendee, room: BreakoutRoom, old_room_id: int | None
) -> None:
    notify(
        live.event_group(round_.event_id),
        _round_message(round_, protocol.ROOM_ASSIGNED, attendee=attendee.pk, room=_room_json(room)),
    )
    for room_id in {room.pk, old_room_id} - {None}:
        notify(live.room_group(room_id), protocol.room_changed(room_id))
    notify(live.hosts_group(round_.event_id), protocol.room_changed(room.pk))


def room_arrive(*, attendee: Attendee) -> BreakoutRoom | None:
    """An attendee arrives at the breakout: their room in the running round, placing them first
    (room_place_late_joiner: the smallest room) if they came after it started. None without a
    running round, or in a round where attendees choose and they have not yet.

    The one place a late joiner is placed, called when they arrive and nowhere else: when their
    socket connects (debates.realtime.connection_read) or re-syncs its room (debates.consumers)
    and when they open the room page (debates.views.room.room). Pages that only show the room
    (the panel's context) read it.
    """
    running = selectors.round_running(event_id=attendee.event_id)
    if running is None:
        return None
    # Reads first: placing takes the round's lock, and most arrivals find a room already.
    room = selectors.room_of(attendee_id=attendee.pk, round_id=running.pk)
    return room or room_place_late_joiner(attendee=attendee)


@transaction.atomic
def room_place_late_joiner(*, attendee: Attendee) -> BreakoutRoom | None:
    """Puts someone who arrives during a round into the smallest room (their room if they have one).

    Among equally small rooms, the one with the fewest people on the newcomer's pre-vote side,
    so the mix stays even. In a round where attendees choose, nobody is placed: they pick.
    """
    running = selectors.round_running(event_id=attendee.event_id)
    if running is None:
        return None
    round_ = _round_for_update(running)
    current = selectors.room_of(attendee_id=attendee.pk, round_id=round_.pk)
    if current is not None or round_.assignment == AssignmentMode.CHOICE:
        return current
    sizes = _room_sizes(round_)
    if not sizes:
        return None
    side = selectors.pre_vote_sides(event_id=attendee.event_id, attendee_ids=[attendee.pk]).get(
        attendee.pk, NOT_VOTED
    )
    members = RoomMember.objects.filter(round=round_).values_list("room_id", "attendee_id")
    member_sides = selectors.pre_vote_sides(
        event_id=attendee.event_id, attendee_ids=[a for _, a in members]
    )
    same_side = dict.fromkeys(sizes, 0)
    for room_id, attendee_id in members:
        if member_sides.get(attendee_id) == side:
            same_side[room_id] += 1
    rooms = {room.pk: room for room in round_.rooms.all()}
    room_id = min(sizes, key=lambda pk: (sizes[pk], same_side[pk], rooms[pk].position, pk))
    RoomMember.objects.create(room_id=room_id, round=round_, attendee=attendee)
    _notify_assigned(round_, attendee, rooms[room_id], None)
    return rooms[room_id]


@transaction.atomic
def attendee_move(*, attendee: Attendee, room: BreakoutRoom) -> RoomMember:
    """The host moves someone into another room of the running round (or places them)."""
    round_ = _round_for_update(room.round)
    if attendee.event_id != round_.event_id:
        raise ValidationError(ATTENDEE_NOT_IN_EVENT, code="attendee_not_in_event")
    return _room_enter(round_, attendee, room)


def _room_enter(round_: BreakoutRound, attendee: Attendee, room: BreakoutRoom) -> RoomMember:
    if room.round_id != round_.pk:
        raise ValidationError(ROOM_NOT_IN_ROUND, code="room_not_in_round")
    membership = RoomMember.objects.filter(round=round_, attendee=attendee).first()
    old_room_id = membership.room_id if membership else None
    if membership is None:
        membership = RoomMember.objects.create(room=room, round=round_, attendee=attendee)
    elif membership.room_id != room.pk:
        membership.room = room
        membership.save(update_fields=["room"])
    else:
        return membership
    _notify_assigned(round_, attendee, room, old_room_id)
    return membership


def room_capacity(*, round_: BreakoutRound, room_count: int) -> int:
    """In a round where attendees choose, a room holds an even share of everyone at the event."""
    attendees = Attendee.objects.filter(event_id=round_.event_id).count()
    return max(1, math.ceil(attendees / max(1, room_count)))


@transaction.atomic
def room_choose(*, attendee: Attendee, room: BreakoutRoom) -> RoomMember:
    """An attendee picks (or switches to) a room in a round where attendees choose."""
    round_ = _round_for_update(room.round)
    if attendee.event_id != round_.event_id:
        raise ValidationError(ATTENDEE_NOT_IN_EVENT, code="attendee_not_in_event")
    if round_.assignment != AssignmentMode.CHOICE:
        raise ValidationError(ROOMS_ASSIGNED_BY_HOST, code="rooms_assigned_by_host")
    if room.round_id != round_.pk:
        raise ValidationError(ROOM_NOT_IN_ROUND, code="room_not_in_round")
    sizes = _room_sizes(round_)
    already_here = RoomMember.objects.filter(round=round_, attendee=attendee, room=room).exists()
    if not already_here and sizes[room.pk] >= room_capacity(round_=round_, room_count=len(sizes)):
        raise ValidationError(ROOM_FULL, code="room_full")
    return _room_enter(round_, attendee, room)


@transaction.atomic
def room_update(
    *, room: BreakoutRoom, name: str, video_url: str = "", location: str = ""
) -> BreakoutRoom:
    """The host renames a room or sets its call link or its table."""
    round_ = BreakoutRound.objects.select_for_update().get(pk=room.round_id)
    name = _room_names([name], 1)[0]
    if round_.rooms.filter(name=name).exclude(pk=room.pk).exists():
        raise ValidationError(ROOM_NAMES_INVALID, code="room_names_invalid")
    room.name = name
    room.video_url = _clean_room_link(video_url)
    room.location = _clean_location(location)
    room.save(update_fields=["name", "video_url", "location"])
    notify(live.room_group(room.pk), protocol.room_changed(room.pk, **_room_json(room)))
    notify(live.hosts_group(round_.event_id), protocol.room_changed(room.pk))
    return room


@transaction.atomic
def round_message(*, round_: BreakoutRound, text: str) -> BreakoutRound:
    """A message from the host to every room at once ("five minutes left", "wrap up")."""
    text = " ".join(text.split())
    if not text:
        raise ValidationError(ROUND_MESSAGE_EMPTY, code="round_message_empty")
    if len(text) > ROUND_MESSAGE_MAX_LENGTH:
        raise ValidationError(ROUND_MESSAGE_TOO_LONG, code="round_message_too_long")
    round_ = _round_for_update(round_)
    round_.message = text
    round_.message_at = timezone.now()
    round_.save(update_fields=["message", "message_at"])
    notify(
        live.event_group(round_.event_id),
        _round_message(
            round_, protocol.MESSAGE_BROADCAST, text=text, at=round_.message_at.isoformat()
        ),
    )
    return round_


@transaction.atomic
def round_timer_set(*, round_: BreakoutRound, minutes: int) -> BreakoutRound:
    """Restarts the countdown: it now ends `minutes` from now."""
    if not 1 <= minutes <= MAX_ROUND_MINUTES:
        raise ValidationError(ROUND_MINUTES_RANGE, code="round_minutes_range")
    round_ = _round_for_update(round_)
    return _round_timer_save(round_, timezone.now() + timedelta(minutes=minutes))


@transaction.atomic
def round_extend(*, round_: BreakoutRound, minutes: int) -> BreakoutRound:
    """Adds minutes to the countdown (or takes them off, never to before now)."""
    if not 1 <= abs(minutes) <= MAX_EXTEND_MINUTES:
        raise ValidationError(EXTEND_MINUTES_RANGE, code="extend_minutes_range")
    round_ = _round_for_update(round_)
    now = timezone.now()
    # A countdown already at zero restarts from now: "two more minutes" means two from now.
    base = max(round_.ends_at or now, now)
    return _round_timer_save(round_, max(now, base + timedelta(minutes=minutes)))


def _round_timer_save(round_: BreakoutRound, ends_at: datetime) -> BreakoutRound:
    round_.ends_at = ends_at
    round_.save(update_fields=["ends_at"])
    notify(live.event_group(round_.event_id), _round_message(round_, protocol.TIMER_CHANGED))
    return round_


@transaction.atomic
def round_end(*, round_: BreakoutRound) -> BreakoutRound:
    """ "Bring everyone back": closes the rooms and moves the event on to the plenary."""
    round_ = _round_for_update(round_)
    round_.ended_at = timezone.now()
    round_.save(update_fields=["ended_at"])
    event = Event.objects.select_for_update().get(pk=round_.event_id)
    if event.phase == Phase.BREAKOUTS:
        event.phase = Phase.PLENARY
        event.save(update_fields=["phase", "updated_at"])
    notify(
        live.event_group(event.pk), _round_message(round_, protocol.ROUND_ENDED, phase=event.phase)
    )
    notify_event_changed(event.pk)
    return round_
