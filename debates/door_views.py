"""The front door: joining by the code on the screen, by the screen's QR link or by an open
link, and the projector that shows the code. Thin: the rules are events.admission (proof of
presence, the join budget) and events.services (joining, the wrong-code throttle).

A join that is over its network's budget waits its turn here, asleep on the event loop (the
views are async for that alone: a sleeping sync view would hold the one database thread every
request shares on SQLite). Everything that touches the database or the session runs in
the database thread (productbreaks.overload.on_database_thread: it also records how long each
step waited, the overload guard's signal), before and after the wait.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from typing import Any

import segno
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_http_methods

from debates import page_cache, selectors
from debates.forms import DisplayNameForm, JoinForm
from events import admission
from events.models import Admission, Event, Phase
from events.services import (
    JOIN_TOO_MANY_GUESSES,
    attendee_join,
    join_code_display,
    join_guess_failed,
    join_guesses_exceeded,
)
from productbreaks.overload import on_database_thread

JOIN_NEEDS_THE_SCREEN = _(
    "This event admits the people in the room: scan the QR code on the screen there, "
    "or type the code it shows."
)
QR_LINK_EXPIRED = _(
    "This QR code has expired: the one on the screen changes every minute. Scan it again, "
    "or type the code shown under it."
)
JOIN_QUEUED = _(
    "A lot of people are joining from your network right now. You have a place in the queue: "
    "this page tries again by itself in a few seconds."
)
PROJECTOR_FOR_HOSTS = _(
    "The projector shows the code that lets people in: open it from the host console, "
    "or with the projector link the console shows."
)
PROJECTOR_LINK_INVALID = _(
    "This projector link is not valid (any more). Copy the new one from the host console."
)
NO_QR_FOR_THIS_EVENT = _("This event's QR code is on the screen in the room.")
EVENT_OVER = _("This debate is over: nobody can join or vote any more.")
JOINING_ALREADY = _("You are joining already: this page carries on by itself in a moment.")


def client_address(request: HttpRequest) -> str:
    # Behind the proxy in deploy/, daphne --proxy-headers puts the visitor's address here.
    return request.META.get("REMOTE_ADDR") or "unknown"


async def join_wait(seconds: float) -> None:
    """Holds a join back for its place in the queue (tests replace this to count, not sleep)."""
    await asyncio.sleep(seconds)


# ---------------------------------------------------------------- joining


@dataclass(frozen=True)
class _Entry:
    """A join that may go ahead once its turn comes."""

    event: Event
    display_name: str
    turn: admission.Turn
    session_key: str = ""  # the browser's mark of a join under way (events.admission)


def _join_now(request: HttpRequest, entry: _Entry) -> HttpResponse:
    token = selectors.attendee_token(request.session, entry.event.pk)
    attendee = attendee_join(
        event=entry.event,
        token=token,
        display_name=entry.display_name,
        network=admission.network_hash(client_address(request)),
    )
    tokens = request.session.get(selectors.ATTENDEE_SESSION_KEY)
    tokens = dict(tokens) if isinstance(tokens, dict) else {}
    tokens[str(entry.event.pk)] = attendee.token
    request.session[selectors.ATTENDEE_SESSION_KEY] = tokens
    return redirect(entry.event)


def _entry_or_rejoin(request: HttpRequest, event: Event, display_name: str) -> Any:
    """Someone who has joined already goes straight back in (a reload, a second scan): no
    budget, no new attendee. Anyone else takes a turn in their network's queue."""
    if selectors.attendee_for_session(event=event, session=request.session) is not None:
        return _join_now(request, _Entry(event, display_name, admission.Turn()))
    # A browser that brings a session (the QR link's pass, a reload) is marked as joining. One
    # that brings none has nothing to mark it by: its second tap brings none either, so a mark
    # made now could not catch it, and saving a session first cost a database write per join.
    key = request.session.session_key or ""
    if key and not admission.join_pending_start(key):
        # A second tap (or a script's hundredth POST) while the first waits its turn.
        busy = _Entry(event, display_name, admission.Turn(retry_after=3))
        return _queued(request, busy, JOINING_ALREADY)
    turn = admission.join_turn(address=client_address(request))
    if turn.retry_after is not None and key:
        admission.join_pending_end(key)  # holds no place: it comes back later
    return _Entry(event, display_name, turn, key)


def _queued(request: HttpRequest, entry: _Entry, why: str = JOIN_QUEUED) -> HttpResponse:
    """Over the longest wait: 429 and Retry-After, and the page resubmits itself after it
    (static/js/door.js). The admission pass is in the session, so the retry needs no code.
    429, not 503: Django saves no session (and sets no cookie) on a 5xx answer."""
    form = DisplayNameForm(initial={"display_name": entry.display_name})
    context = {
        "event": entry.event,
        "form": form,
        "queued": why,
        "retry_after": entry.turn.retry_after,
    }
    response = render(request, "debates/join_link.html", context, status=429)
    response["Retry-After"] = str(entry.turn.retry_after)
    return response


async def _enter(request: HttpRequest, prepared: Any) -> HttpResponse:
    if isinstance(prepared, HttpResponse):
        return prepared
    if prepared.turn.retry_after is not None:
        return await on_database_thread(_queued)(request, prepared)
    try:
        if prepared.turn.wait > 0:
            await join_wait(prepared.turn.wait)
        return await on_database_thread(_join_now)(request, prepared)
    except asyncio.CancelledError:
        # The client hung up while it waited: its place goes back to the venue.
        await on_database_thread(admission.join_turn_return)(address=client_address(request))
        raise
    finally:
        if prepared.session_key:
            await on_database_thread(admission.join_pending_end)(prepared.session_key)


def _too_many_guesses(request: HttpRequest, code: str = "") -> HttpResponse:
    form = JoinForm(initial={"code": code[:20]})
    context = {"form": form, "refusal": JOIN_TOO_MANY_GUESSES}
    return render(request, "debates/join.html", context, status=429)


def _join_by_code(request: HttpRequest) -> Any:
    if request.method == "GET":
        code = request.GET.get("code", "")[:20]
        form = JoinForm(initial={"code": code})
        return page_cache.render_shared(request, "debates/join.html", {"form": form}, key=code)
    form = JoinForm(request.POST)
    if not form.is_valid():
        if form.has_error("code", "unknown"):
            # Only wrong codes count, and only they are refused once a network is over its
            # guesses: the code on the screen always admits (events.services, limits).
            address = client_address(request)
            if join_guesses_exceeded(client=address):
                return _too_many_guesses(request, request.POST.get("code", ""))
            join_guess_failed(client=address)
        return render(request, "debates/join.html", {"form": form}, status=400)
    admission.pass_grant(request.session, form.event)
    return _entry_or_rejoin(request, form.event, form.cleaned_data["display_name"])


@require_http_methods(["GET", "POST"])
async def join(request: HttpRequest) -> HttpResponse:
    """/join/: type the code on the screen (or an open event's code) and a name."""
    return await _enter(request, await on_database_thread(_join_by_code)(request))


def _event_for_link(request: HttpRequest, code: str) -> Event | HttpResponse:
    """The event a link names by its standing code. An unknown code counts as a wrong guess."""
    address = client_address(request)
    event = admission.event_for_standing_code(code)
    if event is None:
        if join_guesses_exceeded(client=address):
            return _too_many_guesses(request)
        join_guess_failed(client=address)
        raise Http404(_("No event has that code."))
    return event


def _over(request: HttpRequest, event: Event) -> HttpResponse:
    """A finished event admits nobody: say so, and where its recap is (or that one is coming)."""
    context = {"event": event, "over": EVENT_OVER}
    return render(request, "debates/join_link.html", context, status=410)


def _closed_door(request: HttpRequest, event: Event, *, refusal: str, status: int) -> HttpResponse:
    """Someone without what the room shows: explain, and offer the code form."""
    context = {"event": event, "door_closed": True, "refusal": refusal, "code_form": JoinForm()}
    return render(request, "debates/join_link.html", context, status=status)


def _join_by_link(request: HttpRequest, code: str) -> Any:
    event = _event_for_link(request, code)
    if isinstance(event, HttpResponse):
        return event
    joined = selectors.attendee_for_session(event=event, session=request.session) is not None
    if event.phase == Phase.ENDED and not joined:
        return _over(request, event)
    if request.method == "GET":
        # GET never creates anyone: link previews and prefetching must not join.
        if joined:
            return redirect(event)
        if not admission.may_join(request.session, event):
            return _closed_door(request, event, refusal=JOIN_NEEDS_THE_SCREEN, status=200)
        return _name_form(request, event)
    form = DisplayNameForm(request.POST)
    if not form.is_valid():
        return render(request, "debates/join_link.html", {"event": event, "form": form}, status=400)
    if not joined and not admission.may_join(request.session, event):
        return _closed_door(request, event, refusal=JOIN_NEEDS_THE_SCREEN, status=403)
    return _entry_or_rejoin(request, event, form.cleaned_data["display_name"])


@require_http_methods(["GET", "POST"])
async def join_link(request: HttpRequest, code: str) -> HttpResponse:
    """/j/<code>/: the event's standing link. It admits when the door is open, or when this
    browser brought the screen's code or QR link a moment ago (its admission pass)."""
    return await _enter(request, await on_database_thread(_join_by_link)(request, code))


@require_GET
@never_cache
def join_qr(request: HttpRequest, code: str, token: str) -> HttpResponse:
    """/j/<code>/<token>/: the QR link on the screen. A current token gives this browser its
    admission pass and shows the name form; an old one (a photo posted online) does not."""
    event = _event_for_link(request, code)
    if isinstance(event, HttpResponse):
        return event
    if selectors.attendee_for_session(event=event, session=request.session) is not None:
        return redirect(event)
    if event.phase == Phase.ENDED:
        return _over(request, event)
    if event.admission == Admission.SCREEN:
        if not admission.qr_token_valid(event, token):
            return _closed_door(request, event, refusal=QR_LINK_EXPIRED, status=403)
        admission.pass_grant(request.session, event)
    return _name_form(request, event)


def _name_form(request: HttpRequest, event: Event) -> HttpResponse:
    """The name form the QR link and the open link show: the same for the whole room."""
    context = {"event": event, "form": DisplayNameForm()}
    key = (event.pk, event.phase, event.admission)
    return page_cache.render_shared(request, "debates/join_link.html", context, key=key)


# ---------------------------------------------------------------- the QR code and the projector


def qr_svg(url: str) -> str:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=10, border=2, xmldecl=False, title=str(_("Join link"))
    )
    return buffer.getvalue().decode()


def standing_join_url(request: HttpRequest, event: Event) -> str:
    return request.build_absolute_uri(
        reverse("debates:join_link", kwargs={"code": event.join_code})
    )


@require_GET
@cache_control(max_age=3600)
def qr(request: HttpRequest, slug: str) -> HttpResponse:
    """The standing link's QR code: only an open event has one that admits."""
    event = get_object_or_404(Event, slug=slug)
    if event.admission != Admission.OPEN:
        raise Http404(NO_QR_FOR_THIS_EVENT)
    return HttpResponse(qr_svg(standing_join_url(request, event)), content_type="image/svg+xml")


def may_project(request: HttpRequest, event: Event) -> bool:
    return admission.projector_granted(event=event, session=request.session) or (
        selectors.can_host(event=event, user=request.user, session=request.session)
    )


def event_for_projector(request: HttpRequest, slug: str) -> Event:
    event = get_object_or_404(Event, slug=slug)
    if not may_project(request, event):
        raise PermissionDenied(PROJECTOR_FOR_HOSTS)
    return event


def screen_context(request: HttpRequest, event: Event) -> dict[str, Any]:
    """What the screen shows to let people in: the rotating code and QR (screen admission),
    or the standing code and link (open admission); nothing once the event has ended."""
    if event.phase == Phase.ENDED:
        recap = reverse("recaps:recap", kwargs={"slug": event.slug})
        return {
            "event": event,
            "screen_over": True,
            "refresh_in": None,
            # A URL, not an import of the recap: debates knows the recap only by its address.
            "recap_url": request.build_absolute_uri(recap) if event.recap_published else "",
        }
    if event.admission == Admission.OPEN:
        url = standing_join_url(request, event)
        return {
            "event": event,
            "screen_code": join_code_display(event.join_code),
            "screen_url": url,
            "screen_qr": mark_safe(qr_svg(url)),  # noqa: S308 - segno's SVG of our own URL
            "refresh_in": None,
        }
    state = admission.screen_state(event)
    url = request.build_absolute_uri(
        reverse("debates:join_qr", kwargs={"code": event.join_code, "token": state.token})
    )
    return {
        "event": event,
        "screen_code": join_code_display(state.code),
        "screen_url": url,
        "screen_qr": mark_safe(qr_svg(url)),  # noqa: S308 - segno's SVG of our own URL
        # A moment after the change, so the new code is there when the request arrives.
        "refresh_in": state.seconds_left + 1,
    }


@require_GET
@never_cache
def screen(request: HttpRequest, slug: str) -> HttpResponse:
    """The projector's and console's join box, re-read every time the code changes."""
    event = event_for_projector(request, slug)
    return render(request, "debates/projector.html#screen", screen_context(request, event))


@require_GET
def projector_link(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    """The projector link from the console: this browser may show the projector (and its
    rotating code), nothing more. Rotating the host link ends it."""
    event = get_object_or_404(Event, slug=slug)
    if not admission.projector_redeem(event=event, key=key, session=request.session):
        raise PermissionDenied(PROJECTOR_LINK_INVALID)
    return redirect("debates:projector", slug=event.slug)


def projector_url(request: HttpRequest, event: Event) -> str:
    return request.build_absolute_uri(
        reverse(
            "debates:projector_link",
            kwargs={"slug": event.slug, "key": admission.projector_key(event)},
        )
    )
