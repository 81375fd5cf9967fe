"""An event's life on the organiser's list (issue 17): duplicated for the next evening,
archived once done with, deleted with everything its attendees left behind.

Writes, so services; they live apart from events/services.py, which holds the event's own
rules (joining, codes, subscribers)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from events.models import Event, Resource, Series, Theme, Turn
from events.services import event_create

# What the duplicate takes over: the evening's shape, not its people or its results.
COPIED_FIELDS = (
    "motion",
    "intro",
    "format",
    "admission",
    "venue",
    "video_url",
    "room_video_pattern",
    "series",
)
COPY_TITLE = _("%(title)s (copy)")


def _next_week(starts_at: datetime, now: datetime) -> datetime:
    """The same weekday and hour, the first such day at least a week from now."""
    weeks = max(1, (now - starts_at).days // 7 + 2) if starts_at < now else 1
    return starts_at + timedelta(weeks=weeks)


@transaction.atomic
def event_duplicate(*, event: Event, organiser: AbstractBaseUser) -> Event:
    """A new draft event in the same format: motion, venue and links, speakers, themes,
    resources and the running order. Not its people, votes, rooms, points or recap. It starts
    on the same weekday and hour, a week or more ahead; the organiser then edits it."""
    starts_at = _next_week(event.starts_at, timezone.now())
    length = event.ends_at - event.starts_at if event.ends_at else None
    copy = event_create(
        organiser=organiser,
        title=str(COPY_TITLE % {"title": event.title})[: Event._meta.get_field("title").max_length],
        starts_at=starts_at,
        ends_at=starts_at + length if length is not None else None,
        **{name: getattr(event, name) for name in COPIED_FIELDS},
    )
    speakers = {}
    for speaker in event.speakers.order_by("position", "pk"):
        old = speaker.pk
        speaker.pk = None
        speaker.event = copy
        speaker.save()
        speakers[old] = speaker
    for model in (Theme, Resource):
        for row in model.objects.filter(event=event).order_by("position", "pk"):
            row.pk = None
            row.event = copy
            row.save()
    for turn in Turn.objects.filter(event=event).order_by("position", "pk"):
        turn.pk = None
        turn.event = copy
        turn.speaker = speakers.get(turn.speaker_id)
        turn.save()
    return copy


@transaction.atomic
def event_archive(*, event: Event, archived: bool = True) -> Event:
    """Off the organiser's working list (or back on it). Its public pages are unchanged."""
    event.archived_at = timezone.now() if archived else None
    event.save(update_fields=["archived_at", "updated_at"])
    return event


@transaction.atomic
def event_delete(*, event: Event) -> None:
    """Deletes the event and everything of its attendees: who joined, their votes and
    points, questions, reactions, rooms, the log. The recap is taken down first, in the same
    transaction. Subscribers stay: they asked for email, and their record only loses the event
    they signed up at."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.recap_published:
        event.recap_published = False
        event.save(update_fields=["recap_published", "updated_at"])
    event.delete()  # every attendee row, and everything that names an attendee, cascades


SERIES_NAME_MAX_LENGTH = 120


@transaction.atomic
def series_for(*, organiser: AbstractBaseUser, name: str) -> Series | None:
    """The organiser's series of that name, made the first time it is named; None for none."""
    name = " ".join(name.split())[:SERIES_NAME_MAX_LENGTH]
    if not name:
        return None
    found = Series.objects.filter(organiser=organiser, name__iexact=name).first()
    if found is not None:
        return found
    base = slugify(name)[:70] or "series"
    slug, n = base, 2
    while Series.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return Series.objects.create(organiser=organiser, name=name, slug=slug)
