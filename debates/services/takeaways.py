"""The event's takeaways: the headlines the host writes up and orders for the recap."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from debates import live
from debates.live import protocol
from debates.models import Takeaway
from debates.services.notify import notify
from events.models import Event

TAKEAWAY_TITLE_MAX_LENGTH = 200
TAKEAWAY_TEXT_MAX_LENGTH = 2000

TAKEAWAY_TITLE_EMPTY = _("Give the takeaway a headline.")
TAKEAWAY_TITLE_TOO_LONG = _("Keep a headline to 200 characters.")
TAKEAWAY_TEXT_TOO_LONG = _("Keep a takeaway's text to 2,000 characters.")
TAKEAWAY_ORDER_INVALID = _("The new order must list each of this event's takeaways once.")


def _clean_takeaway(title: str, text: str) -> tuple[str, str]:
    title = " ".join(title.split())
    text = text.strip()
    if not title:
        raise ValidationError(TAKEAWAY_TITLE_EMPTY, code="takeaway_title_empty")
    if len(title) > TAKEAWAY_TITLE_MAX_LENGTH:
        raise ValidationError(TAKEAWAY_TITLE_TOO_LONG, code="takeaway_title_too_long")
    if len(text) > TAKEAWAY_TEXT_MAX_LENGTH:
        raise ValidationError(TAKEAWAY_TEXT_TOO_LONG, code="takeaway_text_too_long")
    return title, text


def _notify_takeaways(event_id: int) -> None:
    notify(live.event_group(event_id), protocol.takeaways_changed(event_id))


@transaction.atomic
def takeaway_add(*, event: Event, title: str, text: str = "") -> Takeaway:
    title, text = _clean_takeaway(title, text)
    # The event row is the lock: two takeaways added at once get different positions.
    Event.objects.select_for_update().filter(pk=event.pk).first()
    last = Takeaway.objects.filter(event=event).aggregate(Max("position"))["position__max"]
    takeaway = Takeaway.objects.create(
        event=event, title=title, text=text, position=0 if last is None else last + 1
    )
    _notify_takeaways(event.pk)
    return takeaway


@transaction.atomic
def takeaway_edit(*, takeaway: Takeaway, title: str, text: str = "") -> Takeaway:
    takeaway.title, takeaway.text = _clean_takeaway(title, text)
    takeaway.save(update_fields=["title", "text"])
    _notify_takeaways(takeaway.event_id)
    return takeaway


@transaction.atomic
def takeaway_delete(*, takeaway: Takeaway) -> None:
    event_id = takeaway.event_id
    takeaway.delete()
    _renumber_takeaways(
        event_id, list(Takeaway.objects.filter(event_id=event_id).order_by("position", "id"))
    )
    _notify_takeaways(event_id)


def _renumber_takeaways(event_id: int, ordered: Sequence[Takeaway]) -> None:
    for position, takeaway in enumerate(ordered):
        takeaway.position = position
    Takeaway.objects.bulk_update(ordered, ["position"])


@transaction.atomic
def takeaway_reorder(*, event: Event, order: Sequence[int]) -> list[Takeaway]:
    """Puts the event's takeaways in the given order of ids (each exactly once)."""
    Event.objects.select_for_update().filter(pk=event.pk).first()
    takeaways = {t.pk: t for t in Takeaway.objects.filter(event=event)}
    if len(order) != len(takeaways) or set(order) != set(takeaways):
        raise ValidationError(TAKEAWAY_ORDER_INVALID, code="takeaway_order_invalid")
    ordered = [takeaways[pk] for pk in order]
    _renumber_takeaways(event.pk, ordered)
    _notify_takeaways(event.pk)
    return ordered


@transaction.atomic
def takeaway_move(*, takeaway: Takeaway, offset: int) -> list[Takeaway]:
    """Moves a takeaway up (offset -1) or down (+1) the list: the console's arrow buttons."""
    ids = list(
        Takeaway.objects.filter(event_id=takeaway.event_id)
        .order_by("position", "id")
        .values_list("pk", flat=True)
    )
    if takeaway.pk not in ids:
        raise ValidationError(TAKEAWAY_ORDER_INVALID, code="takeaway_order_invalid")
    i = ids.index(takeaway.pk)
    j = min(max(i + offset, 0), len(ids) - 1)
    ids.insert(j, ids.pop(i))
    return takeaway_reorder(event=takeaway.event, order=ids)
