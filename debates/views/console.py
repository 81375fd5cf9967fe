"""The host console: the host link, the console page, its polls, its actions and panels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from debates import door, door_views, host_actions, live, rehearsal_actions, selectors
from debates.models import PollKind, ResultsVisibility
from debates.services import dealing, hosts, points, set_aside
from debates.views import audience
from debates.views import stage as stage_views
from debates.views.labels import live_labels, rooms_labels
from debates.views.overlay import overlay_url
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
                # The name of its "close it?" step (a dialog; ?confirm=<name> without JS).
                "confirm_close": f"close-{kind}",
            }
        )
    return {
        "event": event,
        "rows": rows,
        "visibilities": ResultsVisibility.choices,
        "joined": selectors.attendees_joined(event_id=event.pk),
        "projector_url": door_views.projector_url(request, event),
        "overlay_url": overlay_url(request, event),
        "full_tally": True,
        "live_labels": live_labels(),
        # The confirmation step a console without JavaScript asked for (see console.html).
        "confirm": request.GET.get("confirm", "")[:40],
        **_phase_steps(event),
        "current_poll": _current_poll(event, list(snapshots.values())),
        **_console_host_context(event),
    }


# The vote the keys O and C act on in each phase: the pre-vote until the rooms are over, then
# the final vote.
_MAIN_POLL = {
    Phase.LOBBY: PollKind.PRE_VOTE,
    Phase.OPENING: PollKind.PRE_VOTE,
    Phase.PRE_VOTE: PollKind.PRE_VOTE,
    Phase.BREAKOUTS: PollKind.PRE_VOTE,
}


def _phase_steps(event: Event) -> dict[str, Any]:
    """The next step of the running order (the key N), the step back from "Ended" (its undo),
    and the vote the keys O and C act on."""
    order = list(Phase.choices)
    at = Phase.values.index(event.phase)
    return {
        "phase_next": order[at + 1] if at + 1 < len(order) else None,
        "phase_back": order[at - 1] if event.phase == Phase.ENDED else None,
        "main_poll_kind": _MAIN_POLL.get(event.phase, PollKind.FINAL_VOTE),
    }


def _current_poll(event: Event, snapshots: list[selectors.PollSnapshot]) -> Any:
    """The vote whose count the cockpit's figures show: the open one, else the phase's."""
    for snapshot in snapshots:
        if snapshot.is_open:
            return snapshot
    main = _MAIN_POLL.get(event.phase, PollKind.FINAL_VOTE)
    return next((s for s in snapshots if s.kind == main), None)


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

CONSOLE_PANELS = frozenset(
    {
        "polls",
        "phase",
        "presence",
        "timeup",
        "door",
        "round",
        "rooms",
        "plenary",
        "takeaways",
        "recap",
        "rehearsal",
        "clock",
        "reveal",
        "overlay",
    }
    | audience.PANELS  # the questions' panel (debates/views/audience.py)
)
# Panels whose partial lives in a template of its own, included by the console with one line.
PANEL_TEMPLATES = {
    "rehearsal": "debates/rehearsal.html",
    "clock": "debates/console_stage.html",
    "reveal": "debates/console_stage.html",
    "overlay": "debates/overlay.html",
}
# A command's result shows in its panel; a round command (start, end, the timer) changes the
# rooms, the time-up prompt and (bringing everyone back) the phase too, and the htmx response
# carries them as out-of-band swaps: the host who acted never waits for the socket to see it.
_ALSO_REFRESH = {
    "round": ("rooms", "timeup", "phase", "polls"),
    # The phase decides which vote the keys act on, and whether the recap can be published.
    "phase": ("polls", "recap"),
    # Opening a vote can move the phase on (debates.services.voting: the phase catches up).
    "polls": ("phase",),
}


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
        "suggested_rooms": dealing.rooms_suggested(people=joined),
        "timer_steps": [(-1, _("−1 min")), (1, _("+1 min")), (5, _("+5 min"))],
        **_time_up(running),
        "attendees_connected": live.attendees_connected(event.pk),
        "transport": live.stats()["transport"],
        "plenary": selectors.plenary_points(event_id=event.pk, include_hidden=True),
        "takeaways": selectors.takeaways(event_id=event.pk),
        "takeaway_form": host_actions.TakeawayAddForm(None, event=event),
        "point_max": points.POINT_MAX_LENGTH,
        "rooms_labels": rooms_labels(),
        "door": door.door_view(event_id=event.pk),
        **_rehearsal_context(event),
        **stage_views.console_context(event),
    }


def _rehearsal_context(event: Event) -> dict[str, Any]:
    current = selectors.rehearsal_current(event_id=event.pk)
    return {
        "rehearsal": current,
        "rehearsable": current is None and selectors.event_is_draft(event=event),
        "rehearsal_form": rehearsal_actions.RehearsalStartForm(None, event=event),
    }


def _time_up(running: Any) -> dict[str, Any]:
    """The prompt when the rooms' countdown reaches zero: bring everyone back, or add time."""
    return {
        "running": running,
        "time_up": bool(running and running.ends_at and running.ends_at <= timezone.now()),
        "time_up_steps": [(2, _("Add 2 minutes")), (5, _("Add 5 minutes"))],
    }


def _presence_context(request: HttpRequest, event: Event) -> dict[str, Any]:
    snapshots = {s.kind: s for s in selectors.poll_snapshots(event_id=event.pk)}
    return {
        "event": event,
        "current_poll": _current_poll(event, list(snapshots.values())),
        # The countdown among the figures (one query more: the round, if one runs).
        "running": selectors.round_running(event_id=event.pk),
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


def _panel_template(panel: str) -> str:
    return f"{PANEL_TEMPLATES.get(panel, 'debates/console.html')}#{panel}"


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
    body = [render_to_string(_panel_template(panels[0]), context, request=request)]
    for panel in panels[1:]:
        body.append(
            render_to_string(_panel_template(panel), context | {"oob": True}, request=request)
        )
    return HttpResponse("".join(body))


def _panel_template(panel: str) -> str:
    return f"{PANEL_TEMPLATES.get(panel, 'debates/console.html')}#{panel}"


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
    response = _console_panels(request, event, (action.panel, *_ALSO_REFRESH.get(action.panel, ())))
    if name in rehearsal_actions.RELOAD_CONSOLE:
        response["HX-Refresh"] = "true"
    return response


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
