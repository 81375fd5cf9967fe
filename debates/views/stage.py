"""The stage on the public pages (the speakers' clock, the reveal) and "what changed my mind".

The clock and the reveal are live snapshot kinds (debates.realtime_stage); these views render
their first state into the page, and the switcher's one-tap question (HTTP, htmx).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from debates import realtime_stage, selectors, stage
from debates.models import PollState
from debates.services import persuasion
from events.models import Attendee, Event


def public_context(event: Event) -> dict[str, Any]:
    """What the attendee page and the projector show of the stage when they load."""
    return {
        "clock": stage.clock(event_id=event.pk),
        "reveal_html": realtime_stage.reveal_html(event.pk),
    }


def _mind_context(event: Event, attendee: Attendee | None, **extra: Any) -> dict[str, Any]:
    """Whether to ask this attendee what changed their mind, and what they may name: only a
    switcher, once the final vote has closed, until they answer or skip."""
    final = stage.final_poll(event_id=event.pk)
    ask = (
        attendee is not None
        and final is not None
        and final.state == PollState.CLOSED
        and stage.mind_change_of(attendee=attendee) is None
        and stage.is_switcher(attendee=attendee)
    )
    return {
        "event": event,
        "ask": ask,
        "points": list(stage.persuasion_points(event_id=event.pk)) if ask else [],
        "turns": list(stage.persuasion_turns(event_id=event.pk)) if ask else [],
        "mind_error": "",
        "mind_thanks": False,
        **extra,
    }


@require_GET
def mind(request: HttpRequest, slug: str) -> HttpResponse:
    """The question card (empty for anyone it is not for); re-read when the final vote closes."""
    event = get_object_or_404(Event, slug=slug)
    attendee = selectors.attendee_for_session(event=event, session=request.session)
    return render(request, "debates/stage.html#mind", _mind_context(event, attendee))


@require_POST
def mind_answer(request: HttpRequest, slug: str) -> HttpResponse:
    """One tap: `choice` is "point-<id>", "turn-<id>" or "skip"."""
    event = get_object_or_404(Event, slug=slug)
    attendee = selectors.attendee_for_session(event=event, session=request.session)
    if attendee is None:
        return HttpResponse(persuasion.MIND_NOT_SWITCHER, status=403, content_type="text/plain")
    kind, _dash, pk = request.POST.get("choice", "").partition("-")
    point = turn = None
    if kind == "point" and pk.isdigit():
        point = stage.persuasion_points(event_id=event.pk).filter(pk=int(pk)).first()
    elif kind == "turn" and pk.isdigit():
        turn = stage.persuasion_turns(event_id=event.pk).filter(pk=int(pk)).first()
    status = 200
    try:
        if kind != "skip" and point is None and turn is None:
            raise ValidationError(persuasion.MIND_CHOICE_UNKNOWN, code="unknown")
        persuasion.mind_change_answer(attendee=attendee, point=point, turn=turn)
        extra = {"mind_thanks": kind != "skip"}
    except ValidationError as error:
        status = 400
        extra = {"mind_error": " ".join(error.messages)}
    if not request.htmx:
        if extra.get("mind_error"):
            messages.error(request, extra["mind_error"])
        return redirect(event.get_absolute_url())
    context = _mind_context(event, attendee, **extra)
    return render(request, "debates/stage.html#mind", context, status=status)


def console_context(event: Event) -> dict[str, Any]:
    """The console's clock and reveal panels (templates/debates/console_stage.html)."""
    final = stage.final_poll(event_id=event.pk)
    return {
        "clock": stage.clock(event_id=event.pk),
        "final_poll": final,
        "reveal_html": realtime_stage.reveal_html(event.pk),
        "clock_steps": [(-30, "−0:30"), (30, "+0:30"), (60, "+1:00")],
    }
