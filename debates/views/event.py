"""The event's public pages: the attendee's page with its votes, and the projector's big screen."""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from debates import door_views, page_cache, selectors
from debates.models import Poll
from debates.services import voting
from debates.views.audience import questions_html
from debates.views.labels import live_labels, rooms_labels
from debates.views.room import room_panel_html
from debates.views.stage import public_context
from events.models import Admission, Event, Phase
from events.services import DISPLAY_NAME_MAX_LENGTH

PROJECTOR_THEMES = ("light", "dark")


def _event_context(request: HttpRequest, event: Event, **extra: Any) -> dict[str, Any]:
    attendee = selectors.attendee_for_session(event=event, session=request.session)
    return {
        "event": event,
        "attendee": attendee,
        "polls": selectors.poll_snapshots(event_id=event.pk),
        "my_votes": selectors.votes_of(attendee_id=attendee.pk) if attendee else {},
        "speakers": event.speakers.all(),
        # The standing link admits only when the door is open: only then is it worth sharing.
        "invite_url": (
            door_views.standing_join_url(request, event)
            if event.admission == Admission.OPEN
            else ""
        ),
        "vote_errors": {},
        "display_name_max": DISPLAY_NAME_MAX_LENGTH,
        "live_labels": live_labels(),
        "rooms_labels": rooms_labels(),
        **public_context(event),
        **extra,
    }


def _panels(request: HttpRequest, event: Event, attendee: Any) -> dict[str, str]:
    """The room panel and the questions section, which the page holds from the start."""
    return {
        "room_panel": room_panel_html(request, event, attendee),
        "questions_panel": questions_html(request, event, attendee),
    }


# ---------------------------------------------------------------- the event and voting


@require_GET
def event_page(request: HttpRequest, slug: str) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    context = _event_context(request, event)
    if request.htmx:
        return render(request, "debates/event.html#stage", context)
    attendee = context["attendee"]
    clock = context["clock"]
    panels = _panels(request, event, attendee)
    if clock.state == "running":
        # A running clock is rendered with the time it was read (clock.js counts down from it):
        # a page shared for 2 s would start the count up to 2 s late.
        return render(request, "debates/event.html", context | panels)
    # Everything the page shows that is not the same for the whole room (debates/page_cache.py).
    key = (
        "event",
        event.pk,
        event.phase,
        tuple((poll.id, poll.version, poll.state) for poll in context["polls"]),
        tuple(sorted(context["my_votes"].items())),
        context["invite_url"],
        (
            clock.state,
            clock.run.pk if clock.run else None,
            clock.length,
            clock.spoken,
            clock.number,
        ),
        hash(context["reveal_html"]),
    )
    # The panels are this person's (their room, their questions): rendered for them, and put
    # into the shared page in place of its stand-ins.
    return page_cache.render_shared(
        request, "debates/event.html", context, key=key, attendee=attendee, pieces=panels
    )


# A refused vote's HTTP status, by the rule that refused it (the socket sends the message).
VOTE_REFUSAL_STATUS = {
    voting.VoteRefusal.SIDE_UNKNOWN: 400,
    voting.VoteRefusal.ATTENDEE_UNKNOWN: 403,
    voting.VoteRefusal.POLL_UNKNOWN: 404,
    voting.VoteRefusal.POLL_OTHER_EVENT: 404,
    voting.VoteRefusal.POLL_NOT_OPEN: 409,
    voting.VoteRefusal.POLL_CLOSED: 409,
    voting.VoteRefusal.TOO_FAST: 429,
    voting.VoteRefusal.SIMULATED: 403,
}


@require_POST
def vote(request: HttpRequest, slug: str, poll_id: int) -> HttpResponse:
    """The plain-form and htmx way to vote; the socket way is debates.consumers.

    If the database goes away mid-request the voter is told so (503, VOTE_NOT_SAVED, as the
    socket says it), never shown a crash page, and never told a vote was kept that was not.
    """
    try:
        event = get_object_or_404(Event, slug=slug)
        attendee = selectors.attendee_for_session(event=event, session=request.session)
        poll = Poll.objects.filter(pk=poll_id).first()
        try:
            if poll is None:
                raise voting.VoteRefused(voting.VoteRefusal.POLL_UNKNOWN)
            if attendee is None:
                raise voting.VoteRefused(voting.VoteRefusal.ATTENDEE_UNKNOWN)
            voting.vote_cast(poll=poll, attendee=attendee, side=request.POST.get("side", ""))
        except voting.VoteRefused as refused:
            status = VOTE_REFUSAL_STATUS.get(refused.code, 400)
            if request.htmx:
                return HttpResponse(refused.reason, status=status, content_type="text/plain")
            context = _event_context(request, event, vote_errors={poll_id: refused.reason})
            context |= _panels(request, event, context["attendee"])
            return render(request, "debates/event.html", context, status=status)
    except (OperationalError, InterfaceError):
        return HttpResponse(voting.VOTE_NOT_SAVED, status=503, content_type="text/plain")
    if request.htmx:
        # Only the poll's card: this path must stay cheap when a whole room votes at once.
        try:
            context = {
                "event": event,
                "poll": selectors.poll_snapshot(poll_id=poll.pk),
                "my_votes": selectors.votes_of(attendee_id=attendee.pk),
                "vote_errors": {},
            }
            return render(request, "debates/event.html#poll", context)
        except (OperationalError, InterfaceError):
            return HttpResponse(status=204)  # the vote is kept: the socket brings the tally
    return redirect(f"{event.get_absolute_url()}#poll-{poll.pk}")


@require_GET
def projector(request: HttpRequest, slug: str) -> HttpResponse:
    """The big screen: hosts, and browsers given the projector link (it shows the code that
    lets people in, so it is not public)."""
    event = door_views.event_for_projector(request, slug)
    context = _event_context(request, event) | door_views.screen_context(request, event)
    context["attendee"] = None  # the big screen votes for no one
    context["my_votes"] = {}
    # Light or dark, as chosen on the projector (static/js/projector.js keeps the choice).
    theme = request.GET.get("theme", "")
    context["theme"] = theme if theme in PROJECTOR_THEMES else ""
    return render(request, "debates/projector.html", context)


@require_GET
def projector_extras(request: HttpRequest, slug: str) -> HttpResponse:
    """The projector's phase-dependent part: the breakout timer and message, the highlighted
    points in the plenary. Public, like the projector: it shows only what the room sees."""
    event = get_object_or_404(Event, slug=slug)
    running = selectors.round_running(event_id=event.pk) if event.phase == Phase.BREAKOUTS else None
    context = {
        "event": event,
        "round": running,
        "rooms": selectors.rooms_with_members(round_id=running.pk) if running else [],
        "highlighted": (
            selectors.highlighted_points(event_id=event.pk) if event.phase == Phase.PLENARY else []
        ),
        "takeaways": (
            selectors.takeaways(event_id=event.pk)
            if event.phase in {Phase.TAKEAWAYS, Phase.ENDED}
            else []
        ),
    }
    return render(request, "debates/projector.html#extras", context)
