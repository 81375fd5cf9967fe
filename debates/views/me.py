"""The attendee's own page (issue 17): how they voted before and after, what moved them, what
they added, and the recap's link the moment it is published. Nobody else sees it: not another
attendee, not the hosts, not the organisers (they see the published figures, never a person's)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from debates import selectors, selectors_me
from debates.views.labels import live_labels, rooms_labels
from events.models import Event, Side

ONLY_YOURS = _(
    "This page is only for the person who took part, in the browser they joined from. "
    "Open it from the phone you used at the event."
)


def _moved_from_to(votes: selectors_me.MyVotes) -> tuple[str, str]:
    return Side(votes.before).label if votes.before else "", Side(
        votes.after
    ).label if votes.after else ""


@require_GET
@never_cache
def my_page(request: HttpRequest, slug: str) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    attendee = selectors.attendee_for_session(event=event, session=request.session)
    if attendee is None:
        return HttpResponse(ONLY_YOURS, status=403, content_type="text/plain; charset=utf-8")
    votes = selectors_me.my_votes(attendee=attendee)
    before, after = _moved_from_to(votes)
    context = {
        "event": event,
        "attendee": attendee,
        "votes": votes,
        "before": before,
        "after": after,
    }
    if request.htmx:  # the recap's link, re-read by rooms.js when the event's state changes
        return render(request, "debates/me.html#recap", context)
    context |= {
        "mind": selectors_me.my_mind_change(attendee=attendee),
        "points": selectors_me.my_points(attendee=attendee),
        "questions": selectors_me.my_questions(attendee=attendee),
        "live_labels": live_labels(),
        "rooms_labels": rooms_labels(),
    }
    return render(request, "debates/me.html", context)
