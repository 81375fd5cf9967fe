"""The event's running order: the host moves it from phase to phase."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from debates.services.notify import notify_event_changed
from events.models import Event, Phase

PHASE_UNKNOWN = _("That is not a phase of this event.")


@transaction.atomic
def phase_set(*, event: Event, phase: str) -> Event:
    """Moves the event to any phase, forwards or back: the host decides the running order.

    A breakout round is left as it is (going back to "Breakouts" resumes it); "bring everyone
    back" is round_end.
    """
    if phase not in Phase.values:
        raise ValidationError(PHASE_UNKNOWN, code="phase_unknown")
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.phase != phase:
        event.phase = phase
        event.save(update_fields=["phase", "updated_at"])
        notify_event_changed(event.pk)
    return event
