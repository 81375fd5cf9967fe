"""A host's rehearsal of a draft event: starting, stopping and resetting it.

While an event rehearses (Event.rehearsing, from the start until the reset), simulated people
(debates.crowd) join, vote and add points through the real services, so the console, the
projector and the phones move as they will on the night; anyone who joins meanwhile is
simulated too (events.services.attendee_join). The rehearsal only starts on a draft
(selectors.event_is_draft: nothing has happened yet), so the reset takes the event back to
exactly that: every attendee, vote, poll, round, point, takeaway and set-aside of the event
goes, the phase is the lobby again, and no tally, recap, export or count differs from before.
Nothing of it can be published meanwhile (recaps.services, and a database constraint).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from debates import live, selectors
from debates.live import plugs, protocol
from debates.models import BreakoutRound, Point, Poll, Rehearsal, SetAside, Takeaway
from debates.models_audience import Question, ReactionCount
from debates.models_stage import TurnRun
from debates.services.notify import notify, notify_event_changed
from events.models import Attendee, Event, Phase

MAX_PEOPLE = 200
MAX_MINUTES = 120

REHEARSAL_PEOPLE_RANGE = _("Rehearse with between 1 and 200 simulated people.")
REHEARSAL_MINUTES_RANGE = _("A rehearsal lasts between 1 and 120 minutes.")
REHEARSAL_NOT_DRAFT = _(
    "Only a draft event can be rehearsed: in the lobby, with nobody joined yet and no vote, "
    "room, point or takeaway. A rehearsal's reset could not give this event back as it is now."
)
REHEARSAL_UNDER_WAY = _("This event is being rehearsed already: stop and reset it first.")
REHEARSAL_NONE = _("There is no rehearsal to stop or reset. Reload the console.")

# Other features' cleanup at the reset (rows of theirs that hang off no attendee or poll and are
# not deleted below): `step(event)` runs in the reset's transaction, before the attendees go.
# Whatever hangs off an attendee or a poll by a cascading key goes with them and needs no step.
RESET_STEPS: list[Callable[[Event], None]] = []


def rehearsal_reset_step(step: Callable[[Event], None]) -> Callable[[Event], None]:
    """Registers a cleanup the reset runs (usable as a decorator)."""
    RESET_STEPS.append(step)
    return step


def _event_for_update(event: Event) -> Event:
    return Event.objects.select_for_update().get(pk=event.pk)


@transaction.atomic
def rehearsal_start(*, event: Event, people: int, minutes: int) -> Rehearsal:
    """Starts a rehearsal: `people` simulated attendees arrive over the first half of
    `minutes`, then act until the time is up or the host stops it (debates.crowd runs them)."""
    if not 1 <= people <= MAX_PEOPLE:
        raise ValidationError(REHEARSAL_PEOPLE_RANGE, code="rehearsal_people_range")
    if not 1 <= minutes <= MAX_MINUTES:
        raise ValidationError(REHEARSAL_MINUTES_RANGE, code="rehearsal_minutes_range")
    # The event row is the lock: joins during a rehearsal and its reset queue behind it.
    event = _event_for_update(event)
    if event.rehearsing:
        raise ValidationError(REHEARSAL_UNDER_WAY, code="rehearsal_under_way")
    if not selectors.event_is_draft(event=event):
        raise ValidationError(REHEARSAL_NOT_DRAFT, code="rehearsal_not_draft")
    now = timezone.now()
    rehearsal = Rehearsal.objects.create(
        event=event,
        people=people,
        minutes=minutes,
        started_at=now,
        ends_at=now + timedelta(minutes=minutes),
    )
    event.rehearsing = True
    event.save(update_fields=["rehearsing", "updated_at"])
    notify_event_changed(event.pk)  # every console's rehearsal panel follows
    return rehearsal


def _current_for_update(event: Event) -> Rehearsal:
    rehearsal = (
        Rehearsal.objects.select_for_update().filter(event=event, reset_at__isnull=True).first()
    )
    if rehearsal is None:
        raise ValidationError(REHEARSAL_NONE, code="rehearsal_none")
    return rehearsal


@transaction.atomic
def rehearsal_stop(*, event: Event) -> Rehearsal:
    """The host stops the simulated people. What they did stays on the screens until the
    reset; stopping twice changes nothing."""
    event = _event_for_update(event)
    rehearsal = _current_for_update(event)
    if rehearsal.stopped_at is None:
        rehearsal.stopped_at = timezone.now()
        rehearsal.save(update_fields=["stopped_at"])
        notify_event_changed(event.pk)  # every console's rehearsal panel follows
    return rehearsal


@transaction.atomic
def rehearsal_step_done(*, rehearsal: Rehearsal, at: datetime) -> bool:
    """Records a step of the simulated crowd (debates.crowd); False once it must stop: stopped,
    reset, or its time up (then it is stopped here, at its end)."""
    rehearsal = Rehearsal.objects.select_for_update().filter(pk=rehearsal.pk).first()
    if rehearsal is None or rehearsal.stopped_at is not None or rehearsal.reset_at is not None:
        return False
    if at >= rehearsal.ends_at:
        rehearsal.stopped_at = rehearsal.ends_at
        rehearsal.save(update_fields=["stopped_at"])
        notify_event_changed(rehearsal.event_id)  # the consoles say it stopped
        return False
    rehearsal.stepped_at = at
    rehearsal.save(update_fields=["stepped_at"])
    return True


@transaction.atomic
def rehearsal_reset(*, event: Event) -> Rehearsal:
    """Takes the event back to the draft it was when the rehearsal started, stopping it first.

    Everything the event holds was made during the rehearsal (it started on a draft, and all
    who joined since are simulated), so all of it goes; the Rehearsal row stays as its log.
    """
    event = _event_for_update(event)
    rehearsal = _current_for_update(event)
    now = timezone.now()
    rehearsal.stopped_at = rehearsal.stopped_at or now
    rehearsal.reset_at = now
    rehearsal.save(update_fields=["stopped_at", "reset_at"])
    for step in RESET_STEPS:
        step(event)
    # Points first: deleting their rooms would only unlink them.
    Point.objects.filter(event=event).delete()
    Takeaway.objects.filter(event=event).delete()
    BreakoutRound.objects.filter(event=event).delete()  # rooms and memberships with them
    SetAside.objects.filter(event=event).delete()
    Poll.objects.filter(event=event).delete()  # votes and their log with them
    # The stage and the audience (issue 15): the clock's turns as they ran, the questions (an
    # asker's key is SET_NULL: they would outlive the attendees), the reaction sums. What
    # changed minds goes with the attendees.
    TurnRun.objects.filter(event=event).delete()
    Question.objects.filter(event=event).delete()
    ReactionCount.objects.filter(event=event).delete()
    Attendee.objects.filter(
        Q(simulated=True) | Q(joined_at__gte=rehearsal.started_at), event=event
    ).delete()
    event.phase = Phase.LOBBY
    event.rehearsing = False
    event.save(update_fields=["phase", "rehearsing", "updated_at"])
    _announce_reset(event.pk)
    return rehearsal


def _announce_reset(event_id: int) -> None:
    """Every open page of the event shows the draft again: the stage (phase, polls), the
    highlights and takeaways, and every plugged live kind (questions, ...)."""
    notify_event_changed(event_id)
    notify(live.event_group(event_id), protocol.highlights_changed(event_id))
    notify(live.event_group(event_id), protocol.takeaways_changed(event_id))
    for kind in list(plugs.kinds):
        transaction.on_commit(partial(live.changed, kind, event_id))
