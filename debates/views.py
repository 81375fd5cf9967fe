"""Attendee and host pages of the live debate. Thin: rules are in services, reads in selectors."""

from __future__ import annotations

import math
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from debates import commands, door, door_views, live, selectors, services, set_aside
from debates.forms import PollOpenForm
from debates.models import AssignmentMode, BreakoutRoom, Point, Poll, PollKind, ResultsVisibility
from events.models import Admission, Attendee, Event, Phase

HOST_RIGHTS_ENDED = _(
    "You can no longer run this event: the host link was changed, or your access was. "
    "Ask the organiser for the new host link."
)
HOST_LINK_INVALID = _("This host link is not valid (any more). Ask the organiser for a new one.")


# ---------------------------------------------------------------- helpers


def _live_labels() -> dict[str, str]:
    """Words static/js/live.js shows, translated here (the script holds no user-facing text)."""
    return {
        "for": str(_("For")),
        "against": str(_("Against")),
        "undecided": str(_("Undecided")),
        "votes_one": str(_("%(n)s vote")),
        "votes_other": str(_("%(n)s votes")),
        "your_vote": str(_("Your vote:")),
        "can_change": str(_("You can change it until the poll closes.")),
        "no_vote": str(_("You have not voted yet.")),
        "sending": str(_("Sending your vote…")),
        "saved": str(_("Vote saved.")),
        "replaced": str(_("A newer vote from you replaced this one.")),
        "too_fast": str(
            _(
                "This page sent too much too fast, so live updates stopped. They come back in "
                "a minute or two; you can still vote."
            )
        ),
        "live": str(_("Live")),
        "connecting": str(_("Connecting…")),
        "offline": str(_("Connection lost. Reconnecting…")),
        "closed": str(_("The poll is closed.")),
        "tally": str(
            _(
                "%(poll)s: for %(for)s%%, against %(against)s%%, undecided %(undecided)s%%, %(votes)s."
            )
        ),
        "hidden_tally": str(
            _("%(poll)s: %(votes)s so far. Results are shown when the poll closes.")
        ),
        "turnout": str(_("%(total)s of %(joined)s who joined have voted")),
        "phase": str(_("Now: %(phase)s")),
        "host_revoked": str(HOST_RIGHTS_ENDED),
    }


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
        "live_labels": _live_labels(),
        "rooms_labels": _rooms_labels(),
        **extra,
    }


# ---------------------------------------------------------------- the event and voting


@require_GET
def event_page(request: HttpRequest, slug: str) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    context = _event_context(request, event)
    if request.htmx:
        return render(request, "debates/event.html#stage", context)
    return render(request, "debates/event.html", context)


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
                raise services.VoteRefused(services.VOTE_POLL_UNKNOWN, status=404)
            if attendee is None:
                raise services.VoteRefused(services.VOTE_ATTENDEE_UNKNOWN, status=403)
            services.vote_cast(poll=poll, attendee=attendee, side=request.POST.get("side", ""))
        except services.VoteRefused as refused:
            if request.htmx:
                return HttpResponse(
                    refused.reason, status=refused.status, content_type="text/plain"
                )
            context = _event_context(request, event, vote_errors={poll_id: refused.reason})
            return render(request, "debates/event.html", context, status=refused.status)
    except (OperationalError, InterfaceError):
        return HttpResponse(services.VOTE_NOT_SAVED, status=503, content_type="text/plain")
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
    return render(request, "debates/projector.html", context)


# ---------------------------------------------------------------- hosts


@require_GET
def host_link(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    if not selectors.host_link_redeem(event=event, key=key, session=request.session):
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
        "live_labels": _live_labels(),
        **_console_host_context(event),
    }


def _console_response(request: HttpRequest, event: Event) -> HttpResponse:
    if request.htmx:
        return render(request, "debates/console.html#polls", _console_context(request, event))
    return redirect("debates:console", slug=event.slug)


@require_GET
def console(request: HttpRequest, slug: str) -> HttpResponse:
    event = selectors.event_for_host(request, slug)
    return render(request, "debates/console.html", _console_context(request, event))


@require_POST
def poll_open(request: HttpRequest, slug: str) -> HttpResponse:
    event = selectors.event_for_host(request, slug)
    form = PollOpenForm(request.POST)
    if not form.is_valid():
        return HttpResponse(
            " ".join(str(e) for errors in form.errors.values() for e in errors),
            status=400,
            content_type="text/plain",
        )
    services.poll_open(
        event=event,
        kind=form.cleaned_data["kind"],
        results_visibility=form.cleaned_data["results_visibility"],
    )
    if not request.htmx:
        messages.success(request, _("The poll is open."))
    return _console_response(request, event)


@require_POST
def poll_close(request: HttpRequest, slug: str, poll_id: int) -> HttpResponse:
    event = selectors.event_for_host(request, slug)
    poll = get_object_or_404(Poll, pk=poll_id, event=event)
    services.poll_close(poll=poll)
    if not request.htmx:
        messages.success(request, _("The poll is closed. Its result is kept."))
    return _console_response(request, event)


@require_POST
def poll_visibility(request: HttpRequest, slug: str, poll_id: int) -> HttpResponse:
    event = selectors.event_for_host(request, slug)
    poll = get_object_or_404(Poll, pk=poll_id, event=event)
    visibility = request.POST.get("results_visibility", "")
    if visibility not in ResultsVisibility.values:
        return HttpResponse(
            _("Choose live or after the close."), status=400, content_type="text/plain"
        )
    services.poll_results_visibility_set(poll=poll, results_visibility=visibility)
    return _console_response(request, event)


# ---------------------------------------------------------------- host console
# (host console: phases, presence, rounds, plenary, takeaways; polls are above)

CONSOLE_PANELS = frozenset(
    {"polls", "phase", "presence", "door", "round", "rooms", "plenary", "takeaways"}
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
        "round_form": commands.RoundStartForm(None, event=event),
        "suggested_rooms": max(2, min(services.MAX_ROOMS, math.ceil(joined / 6))),
        "timer_steps": [(-1, _("−1 min")), (1, _("+1 min")), (5, _("+5 min"))],
        "attendees_connected": live.attendees_connected(event.pk),
        "transport": live.stats()["transport"],
        "plenary": selectors.plenary_points(event_id=event.pk, include_hidden=True),
        "takeaways": selectors.takeaways(event_id=event.pk),
        "takeaway_form": commands.TakeawayAddForm(None, event=event),
        "point_max": services.POINT_MAX_LENGTH,
        "rooms_labels": _rooms_labels(),
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


def _rooms_labels() -> dict[str, str]:
    """Words static/js/rooms.js shows."""
    return {
        "time_up": str(_("Time is up")),
        "back": str(_("The breakout is over: everyone is back together.")),
    }


def _console_panels(request: HttpRequest, event: Event, panels: tuple[str, ...]) -> HttpResponse:
    """The first panel as the response; the others out of band (hx-swap-oob in the partial)."""
    if panels == ("presence",):
        # Every console re-reads this every few seconds: only what it shows (two queries).
        return render(request, "debates/console.html#presence", _presence_context(request, event))
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


@require_POST
def console_command(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """Every host action over HTTP: the same commands the socket accepts (debates.commands)."""
    event = selectors.event_for_host(request, slug)
    if name not in commands.COMMANDS:
        raise Http404(commands.COMMAND_UNKNOWN)
    try:
        command = commands.command_run(
            event=event,
            name=name,
            data=request.POST,
            actor=set_aside.actor_for(user=request.user),
        )
    except commands.CommandRefused as refused:
        if request.htmx:
            return HttpResponse(refused.reason, status=400, content_type="text/plain")
        messages.error(request, refused.reason)
        return render(request, "debates/console.html", _console_context(request, event), status=400)
    if not request.htmx:
        return redirect(f"{reverse('debates:console', args=[event.slug])}#{command.panel}")
    event.refresh_from_db()
    return _console_panels(request, event, (command.panel, *_ALSO_REFRESH.get(command.panel, ())))


@require_GET
def console_panel(request: HttpRequest, slug: str, panel: str) -> HttpResponse:
    """One panel, fresh: the console re-reads it when the socket says it changed."""
    event = selectors.event_for_host(request, slug)
    if panel not in CONSOLE_PANELS:
        raise Http404(_("No such panel."))
    return _console_panels(request, event, (panel,))


# ---------------------------------------------------------------- attendee breakout and panels

NOT_AN_ATTENDEE = _("Join this event first.")
NO_ROOM = _("You are not in a breakout room right now.")


def _panel_context(request: HttpRequest, event: Event, **extra: Any) -> dict[str, Any]:
    """What an attendee's page shows for the current phase beyond the votes: their breakout
    room, the highlighted points in the plenary, the takeaways at the end."""
    attendee = selectors.attendee_for_session(event=event, session=request.session)
    running = selectors.round_running(event_id=event.pk) if event.phase == Phase.BREAKOUTS else None
    context: dict[str, Any] = {
        "event": event,
        "attendee": attendee,
        "round": running,
        "room": None,
        "point_max": services.POINT_MAX_LENGTH,
        "point_errors": [],
        **extra,
    }
    if running and attendee:
        # Someone arriving mid-round is placed now (the smallest room), not left in the hall.
        room = selectors.room_of(attendee_id=attendee.pk, round_id=running.pk)
        room = room or services.room_place_late_joiner(attendee=attendee)
        context["room"] = room
        if room is not None:
            points = list(selectors.room_points(room_id=room.pk))
            context |= {
                "members": selectors.room_members(room_id=room.pk),
                "themes": list(event.themes.all()),
                "points": points,
                "upvoted": selectors.upvoted_point_ids(
                    attendee_id=attendee.pk, point_ids=[p.pk for p in points]
                ),
            }
        if running.assignment == AssignmentMode.CHOICE:
            rooms = selectors.rooms_with_members(round_id=running.pk)
            context["choices"] = rooms
            context["capacity"] = services.room_capacity(round_=running, room_count=len(rooms))
    if event.phase == Phase.PLENARY:
        context["highlighted"] = list(selectors.highlighted_points(event_id=event.pk))
    if event.phase in {Phase.TAKEAWAYS, Phase.ENDED}:
        context["takeaways"] = list(selectors.takeaways(event_id=event.pk))
    return context


def _attendee_or_403(request: HttpRequest, event: Event) -> Attendee:
    attendee = selectors.attendee_for_session(event=event, session=request.session)
    if attendee is None:
        raise PermissionDenied(NOT_AN_ATTENDEE)
    return attendee


def _panel_response(
    request: HttpRequest, event: Event, *, part: str = "panel", status: int = 200, **extra: Any
) -> HttpResponse:
    """The whole page, or for htmx one partial of it: the panel, or the room's board alone."""
    template = f"debates/breakout.html#{part}" if request.htmx else "debates/breakout.html"
    context = _panel_context(request, event, **extra)
    if not request.htmx:
        context |= {"live_labels": _live_labels(), "rooms_labels": _rooms_labels()}
    return render(request, template, context, status=status)


@require_GET
def room(request: HttpRequest, slug: str) -> HttpResponse:
    """The attendee's breakout room (and the plenary and takeaways): a page of its own, and the
    panel the event page loads and refreshes when the socket says something changed."""
    event = get_object_or_404(Event, slug=slug)
    return _panel_response(
        request, event, part="board" if request.GET.get("part") == "board" else "panel"
    )


@require_POST
def room_point_add(request: HttpRequest, slug: str) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    attendee = _attendee_or_403(request, event)
    running = selectors.round_running(event_id=event.pk)
    room = selectors.room_of(attendee_id=attendee.pk, round_id=running.pk) if running else None
    theme = event.themes.filter(pk=_int(request.POST.get("theme"))).first()
    try:
        if room is None:
            raise ValidationError(NO_ROOM)
        if theme is None:
            raise ValidationError(services.THEME_NOT_IN_EVENT)
        services.point_add(
            room=room,
            attendee=attendee,
            theme=theme,
            side=request.POST.get("side", ""),
            text=request.POST.get("text", ""),
        )
    except ValidationError as error:
        status = 429 if getattr(error, "code", None) == "rate_limited" else 400
        if request.htmx:
            return HttpResponse(" ".join(error.messages), status=status, content_type="text/plain")
        return _panel_response(request, event, status=status, point_errors=error.messages)
    if request.htmx:
        return _panel_response(request, event, part="board")
    return redirect("debates:room", slug=event.slug)


@require_POST
def room_point_upvote(request: HttpRequest, slug: str, point_id: int) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    attendee = _attendee_or_403(request, event)
    point = get_object_or_404(Point, pk=point_id, event=event)
    try:
        services.point_upvote(point=point, attendee=attendee)
    except ValidationError as error:
        if request.htmx:
            return HttpResponse(" ".join(error.messages), status=400, content_type="text/plain")
        return _panel_response(request, event, status=400, point_errors=error.messages)
    if request.htmx:
        return _panel_response(request, event, part="board")
    return redirect("debates:room", slug=event.slug)


@require_POST
def room_choose(request: HttpRequest, slug: str) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    attendee = _attendee_or_403(request, event)
    running = selectors.round_running(event_id=event.pk)
    chosen = (
        BreakoutRoom.objects.filter(round=running, pk=_int(request.POST.get("room"))).first()
        if running
        else None
    )
    try:
        if chosen is None:
            raise ValidationError(services.ROOM_NOT_IN_ROUND)
        services.room_choose(attendee=attendee, room=chosen)
    except ValidationError as error:
        if request.htmx:
            return HttpResponse(" ".join(error.messages), status=400, content_type="text/plain")
        return _panel_response(request, event, status=400, point_errors=error.messages)
    if request.htmx:
        return _panel_response(request, event)
    return redirect("debates:room", slug=event.slug)


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


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
