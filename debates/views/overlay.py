"""The streaming overlay (issue 17): a page for streaming software's browser source. A
transparent background, the live tally, the pinned question and the reveal, and no controls.
It is opened with a key the host can rotate from the console (host action overlay.rotate).

It shows only what every phone in the room shows, and never the join code: a stream is
public, and the code on the screen is what proves someone is in the room (SECURITY.md).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from debates import selectors
from debates.views.labels import live_labels, rooms_labels
from debates.views.stage import public_context
from events.models import Event
from events.overlay import overlay_key, overlay_key_valid

OVERLAY_LINK_INVALID = _(
    "This overlay link is not valid (any more). Copy the current one from the host console."
)


def overlay_url(request: HttpRequest, event: Event) -> str:
    path = reverse("debates:overlay", kwargs={"slug": event.slug, "key": overlay_key(event)})
    return request.build_absolute_uri(path)


@require_GET
def overlay(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    if not overlay_key_valid(event, key):
        return HttpResponse(
            OVERLAY_LINK_INVALID, status=403, content_type="text/plain; charset=utf-8"
        )
    context = {
        "event": event,
        "attendee": None,  # it votes for no one, and shows no one's vote
        "my_votes": {},
        "vote_errors": {},
        "polls": selectors.poll_snapshots(event_id=event.pk),
        "live_labels": live_labels(),
        "rooms_labels": rooms_labels(),
        **public_context(event),
    }
    return render(request, "debates/overlay.html", context)
