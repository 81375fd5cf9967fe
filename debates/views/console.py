"""The host console: the host link, the console page, its polls, its actions and panels."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from debates import door, door_views, host_actions, live, selectors
from debates.models import PollKind, ResultsVisibility
from debates.services import hosts, points, rounds, set_aside
from debates.views import audience
from debates.views.event import live_labels, rooms_labels
from events.models import Event, Phase

HOST_LINK_INVALID = _("This host link is not valid (any more). Ask the organiser for a new one.")


# ---------------------------------------------------------------- hosts


@require_GET
def host_link(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    if not hosts.host_link_redeem(event=event, key=key, session=request.session):
        raise PermissionDenied(HOST_LINK_INVALID)
    return redirect("debates:console", slug=event.slug)


def _console_context(request: HttpRequest, event: Event) -> dict[str, Any]:
    snapshots = {s.kind: s for s in selectors.poll_snapshots(event_id=event.pk)}
    polls = {p.kind: p for p in selectors.event_polls(event_id=event.pk)}
    rows = []
    for kind in (PollKind.PRE_VOTE, PollKind.FINAL_VOTE):
        poll = polls.get(kind)
        rows.append(
            {
                "kind": kind,
                "label": kind.label,
                "poll": poll,
                "snapshot": snapshots.get(kind),
                "visibility": poll.results_visibility if poll else ResultsVisibility.LIVE,
            }
        )
    return {
        "event": event,
        "rows": rows,
        "visibilities": ResultsVisibility.choices,
        "joined": selectors.attendees_joined(event_id=event.pk),
        "projector_url": door_views.projector_url(request, event),
        "full_tally": True,
        "live_labels": live_labels(),
        **_console_host_context(event),
    }


@require_GET
def console(request: HttpRequest, slug: str) -> HttpResponse:
    event = selectors.event_for_host(request, slug)
    return render(request, "debates/console.html", _console_context(request, event))


# The poll buttons keep their own URLs, but act through the registry like every console action.


@require_POST
def poll_open(request: HttpRequest, slug: str) -> HttpResponse:
    event = selectors.event_for_host(request, slug)
    return _host_action(request, event, "poll.open", request.POST, done=_("The poll is open."))


@require_POST
def poll_close(request: HttpRequest, slug: str, poll_id: int) -> HttpResponse:
    event = selectors.event_for_host(request, slug)
    data = {"poll": str(poll_id)}
    done = _("The poll is closed. Its result is kept.")
    return _host_action(request, event, "poll.close", data, statuses=_POLL_URL_STATUS, done=done)


@require_POST
def poll_visibility(request: HttpRequest, slug: str, poll_id: int) -> HttpResponse:
    event = selectors.event_for_host(request, slug)
    data = {**request.POST.dict(), "poll": str(poll_id)}
    return _host_action(request, event, "poll.visibility", data, statuses=_POLL_URL_STATUS)


# ---------------------------------------------------------------- host console
# (host console: phases, presence, rounds, plenary, takeaways, and the polls above)

CONSOLE_PANELS = (
    frozenset({"polls", "phase", "presence", "door", "round", "rooms", "plenary", "takeaways"})
    | audience.PANELS
)
# A command's result shows in its panel; a round command (start, end) changes the rooms too,
# and the htmx response carries them as an out-of-band swap.
_ALSO_REFRESH = {"round": ("rooms",)}


def _console_host_context(event: Event) -> dict[str, Any]:
    """Everything the console's panels show beyond the polls. A dozen queries or so."""
    running = selectors.round_running(event_id=event.pk)
    latest = running or selectors.round_latest(event_id=event.pk)
    rooms = selectors.rooms_with_members(round_id=latest.pk) if latest else []
    joined = selectors.attendees_joined(event_id=event.pk)
    return {
        "phases": Phase.choices,
        "round": latest,
        "running": running,
        "rooms": rooms,
        "without_room": (
            list(selectors.attendees_without_room(event_id=event.pk, round_id=running.pk))
            if running
            else []
        ),
        "round_form": host_actions.RoundStartForm(None, event=event),
        "suggested_rooms": max(2, min(rounds.MAX_ROOMS, math.ceil(joined / 6))),
        "timer_steps": [(-1, _("−1 min")), (1, _("+1 min")), (5, _("+5 min"))],
        "attendees_connected": live.attendees_connected(event.pk),
        "transport": live.stats()["transport"],
        "plenary": selectors.plenary_points(event_id=event.pk, include_hidden=True),
        "takeaways": selectors.takeaways(event_id=event.pk),
        "takeaway_form": host_actions.TakeawayAddForm(None, event=event),
        "point_max": points.POINT_MAX_LENGTH,
        "rooms_labels": rooms_labels(),
        "door": door.door_view(event_id=event.pk),
    }


def _presence_context(request: HttpRequest, event: Event) -> dict[str, Any]:
    snapshots = {s.kind: s for s in selectors.poll_snapshots(event_id=event.pk)}
    return {
        "event": event,
        "joined": selectors.attendees_joined(event_id=event.pk),
        "attendees_connected": live.attendees_connected(event.pk),
        # This process's socket fast path: off (a WARNING in the log) means Twisted or daphne
        # changed; frames still go out, through daphne's own send (debates.live.transport).
        "transport": live.stats()["transport"],
        "rows": [
            {"label": kind.label, "snapshot": snapshots.get(kind)}
            for kind in (PollKind.PRE_VOTE, PollKind.FINAL_VOTE)
        ],
    }


def _console_panels(request: HttpRequest, event: Event, panels: tuple[str, ...]) -> HttpResponse:
    """The first panel as the response; the others out of band (data-hx-swap-oob in the partial)."""
    if panels == ("presence",):
        # Every console re-reads this every few seconds: only what it shows (two queries).
        return render(request, "debates/console.html#presence", _presence_context(request, event))
    if panels[0] in audience.PANELS:
        return audience.panel(request, event)  # its own template (console_questions.html)
    if panels == ("door",):
        # Re-read every few seconds too: the door panel's own five queries, nothing else.
        context = {"event": event, "door": door.door_view(event_id=event.pk)}
        return render(request, "debates/console.html#door", context)
    context = _console_context(request, event) | {"oob": False}
    body = [render_to_string(f"debates/console.html#{panels[0]}", context, request=request)]
    for panel in panels[1:]:
        body.append(
            render_to_string(
                f"debates/console.html#{panel}", context | {"oob": True}, request=request
            )
        )
    return HttpResponse("".join(body))


# A refused host action's HTTP status, by its code (anything else is a 400 with the reason).
HOST_ACTION_STATUS = {host_actions.Refusal.UNKNOWN: 404}
# On the poll pages the poll's id is part of the URL: one that is not this event's is a 404.
_POLL_URL_STATUS = HOST_ACTION_STATUS | {host_actions.Refusal.NOT_IN_EVENT: 404}


def _host_action(
    request: HttpRequest,
    event: Event,
    name: str,
    data: Mapping[str, Any],
    *,
    statuses: Mapping[str, int] = HOST_ACTION_STATUS,
    done: str = "",
) -> HttpResponse:
    """Runs one host action (debates.host_actions, as the socket does) and answers: its panel
    for htmx, else back to the console (with `done` as a message)."""
    try:
        action = host_actions.host_action_run(
            event=event, name=name, data=data, actor=set_aside.actor_for(user=request.user)
        )
    except host_actions.HostActionRefused as refused:
        status = statuses.get(refused.code, 400)
        if status == 404:
            raise Http404(refused.reason) from None
        if request.htmx:
            return HttpResponse(refused.reason, status=status, content_type="text/plain")
        messages.error(request, refused.reason)
        context = _console_context(request, event)
        return render(request, "debates/console.html", context, status=status)
    if not request.htmx:
        if done:
            messages.success(request, done)
        return redirect(f"{reverse('debates:console', args=[event.slug])}#{action.panel}")
    event.refresh_from_db()
    return _console_panels(request, event, (action.panel, *_ALSO_REFRESH.get(action.panel, ())))


@require_POST
def console_command(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """Every host action over HTTP: the same actions the socket accepts (debates.host_actions)."""
    event = selectors.event_for_host(request, slug)
    return _host_action(request, event, name, request.POST)


@require_GET
def console_panel(request: HttpRequest, slug: str, panel: str) -> HttpResponse:
    """One panel, fresh: the console re-reads it when the socket says it changed."""
    event = selectors.event_for_host(request, slug)
    if panel not in CONSOLE_PANELS:
        raise Http404(_("No such panel."))
    return _console_panels(request, event, (panel,))
