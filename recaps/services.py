"""Rules about the recap. Writes only; reads are in selectors.py."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from debates.services.notify import notify_event_changed
from events import outbox
from events.models import Event, Phase
from recaps.selectors import event_recap

RECAP_NOT_ENDED = _("A recap can be published once the event has ended.")
RECAP_REHEARSING = _(
    "This event is in rehearsal: its figures are simulated. Reset the rehearsal from the host "
    "console first; the real event's recap can be published once it has ended."
)


@transaction.atomic
def recap_publish(*, event: Event, publish: bool, by: AbstractBaseUser | None = None) -> Event:
    """Publishes the event's recap (public at recaps:recap) or takes it down.

    Only an ended event's recap can be published: until then its figures can still move.
    Nor a rehearsal's (events_event_rehearsal_never_published holds it in the database too).
    recap_published_at is the time of the latest publication (None while unpublished);
    recap_first_published_at, of the first, is never cleared. Every live page of the event
    hears of it after commit, in the event's state (phones then link to the recap at once).
    The first publication queues the recap's email to the subscribers who want recaps
    (events.outbox: once per event ever, in the background).
    """
    event = Event.objects.select_for_update().get(pk=event.pk)
    if publish and event.rehearsing:
        raise ValidationError(RECAP_REHEARSING, code="rehearsing")
    if publish and event.phase != Phase.ENDED:
        raise ValidationError(RECAP_NOT_ENDED, code="not_ended")
    if event.recap_published != publish:
        event.recap_published = publish
        event.recap_published_at = timezone.now() if publish else None
        fields = ["recap_published", "recap_published_at", "updated_at"]
        if publish and event.recap_first_published_at is None:
            event.recap_first_published_at = event.recap_published_at
            fields.append("recap_first_published_at")
        first = "recap_first_published_at" in fields
        event.save(update_fields=fields)
        notify_event_changed(event.pk)
        if first:
            outbox.recap_mailing_queue(event=event, result=recap_result_line(event), by=by)
    return event


def recap_result_line(event: Event) -> str:
    """The result in one line of the event's language, for the recap's email: the same
    verdict the recap shows, or the reason it shows none (the small-group rule)."""
    with translation.override(event.language):
        result = event_recap(event).result
        verdict = result.verdict
        if verdict is None:
            return str(result.why.get("verdict", ""))
        if verdict.outcome in {"carried", "defeated"}:
            return gettext("The motion was %(verdict)s.") % {"verdict": verdict.label}
        if verdict.outcome == "evenly_split":
            return gettext("The room was %(verdict)s.") % {"verdict": verdict.label}
        return gettext("No verdict: nobody took a side in the final vote.")
