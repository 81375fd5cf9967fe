"""The organiser's outbox: what was emailed about an event, to whom and when, and the
"Announce to subscribers" button. The organiser who made the event only, not its co-organisers:
the addresses are the organiser's list (events.selectors.mailing_audience)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from events import outbox, selectors
from events.access import event_for_organiser


def _outbox_page(
    request: HttpRequest, event, *, status: int = 200, error: str = ""
) -> HttpResponse:
    context = {
        "event": event,
        "mailings": selectors.outbox_for(event),
        "audience": selectors.announcement_audience(event),
        "can_announce": selectors.event_is_announceable(event),
        # The confirmation a page without JavaScript asked for (?confirm=announce).
        "confirm": request.GET.get("confirm", "")[:40],
        "error": error,
    }
    return render(request, "events/outbox.html", context, status=status)


@require_GET
def event_outbox(request: HttpRequest, slug: str) -> HttpResponse:
    return _outbox_page(request, event_for_organiser(request, slug, owner=True))


@require_POST
def event_announce(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_organiser(request, slug, owner=True)
    try:
        mailing = outbox.announcement_queue(event=event, by=request.user)
    except ValidationError as error:
        return _outbox_page(request, event, status=400, error=" ".join(error.messages))
    messages.success(
        request,
        _("The announcement is on its way to %(count)s subscribers.")
        % {"count": mailing.emails.count()},
    )
    return redirect("events:event_outbox", slug=event.slug)
