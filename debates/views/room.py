"""The attendee's breakout room, the plenary and the takeaways: the panel of the event page."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from debates import selectors
from debates.models import AssignmentMode, BreakoutRoom, Point
from debates.services import points, rounds
from debates.views.labels import live_labels, rooms_labels
from events.models import Attendee, Event, Phase

# ---------------------------------------------------------------- attendee breakout and panels

NOT_AN_ATTENDEE = _("Join this event first.")
NO_ROOM = _("You are not in a breakout room right now.")


_UNREAD = object()


def _panel_context(
    request: HttpRequest, event: Event, attendee: Any = _UNREAD, **extra: Any
) -> dict[str, Any]:
    """What an attendee's page shows for the current phase beyond the votes: their breakout
    room, the highlighted points in the plenary, the takeaways at the end. `attendee`, when
    the caller has read it already (the event page), is not read again."""
    if attendee is _UNREAD:
        attendee = selectors.attendee_for_session(event=event, session=request.session)
    running = selectors.round_running(event_id=event.pk) if event.phase == Phase.BREAKOUTS else None
    context: dict[str, Any] = {
        "event": event,
        "attendee": attendee,
        "round": running,
        "room": None,
        "point_max": points.POINT_MAX_LENGTH,
        "point_errors": [],
        **extra,
    }
    if running and attendee:
        # A read: someone who came late was placed when they arrived (see room below).
        room = selectors.room_of(attendee_id=attendee.pk, round_id=running.pk)
        context["room"] = room
        if room is not None:
            board = list(selectors.room_points(room_id=room.pk))
            themes = list(event.themes.all())
            context |= {
                "members": selectors.room_members(room_id=room.pk),
                "themes": themes,
                "points": board,
                "board": _by_theme(board, themes),
                "upvoted": selectors.upvoted_point_ids(
                    attendee_id=attendee.pk, point_ids=[p.pk for p in board]
                ),
            }
        if running.assignment == AssignmentMode.CHOICE:
            rooms = selectors.rooms_with_members(round_id=running.pk)
            context["choices"] = rooms
            context["capacity"] = rounds.room_capacity(round_=running, room_count=len(rooms))
    if event.phase == Phase.PLENARY:
        context["highlighted"] = list(selectors.highlighted_points(event_id=event.pk))
    if event.phase in {Phase.TAKEAWAYS, Phase.ENDED}:
        context["takeaways"] = list(selectors.takeaways(event_id=event.pk))
    return context


def _by_theme(board: list[Point], themes: list[Any]) -> list[dict[str, Any]]:
    """The room's points under their themes, in the event's order; themes without any left out."""
    groups = [{"theme": t, "points": [p for p in board if p.theme_id == t.pk]} for t in themes]
    return [group for group in groups if group["points"]]


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
        context |= {"live_labels": live_labels(), "rooms_labels": rooms_labels()}
    return render(request, template, context, status=status)


def room_panel_html(request: HttpRequest, event: Event, attendee: Attendee | None) -> str:
    """The panel as the event page holds it from the start: rendered with the page, not
    fetched by a second request once it is shown (issue 14: each request costs the server
    about 3 ms of CPU before any view runs, bench.joincost). Live refreshes still fetch it."""
    if attendee is not None and event.phase == Phase.BREAKOUTS:
        rounds.room_arrive(attendee=attendee)  # as room() below: arriving late places them
    context = _panel_context(request, event, attendee)
    return render_to_string("debates/breakout.html#panel", context, request=request)


@require_GET
def room(request: HttpRequest, slug: str) -> HttpResponse:
    """The attendee's breakout room (and the plenary and takeaways): a page of its own, and the
    panel the event page loads and refreshes when the socket says something changed."""
    event = get_object_or_404(Event, slug=slug)
    attendee = selectors.attendee_for_session(event=event, session=request.session)
    if attendee is not None and event.phase == Phase.BREAKOUTS:
        # Opening the room page is arriving at the breakout: someone who came mid-round is
        # placed now (the smallest room), as their socket's connect does, not left in the hall.
        rounds.room_arrive(attendee=attendee)
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
            raise ValidationError(points.THEME_NOT_IN_EVENT)
        points.point_add(
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
        points.point_upvote(point=point, attendee=attendee)
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
            raise ValidationError(rounds.ROOM_NOT_IN_ROUND)
        rounds.room_choose(attendee=attendee, room=chosen)
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
