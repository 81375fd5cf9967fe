"""The audience's questions and reactions over HTTP (issue 15): what the phone's page does when
its socket is down (htmx), or without JavaScript (plain forms and a page of its own). The socket
way is debates.consumer_audience; both call the same services. The hosts' side is the console's
questions panel (panel() below, rendered by debates.views.console).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from debates import host_actions_audience, reaction_tally, selectors, selectors_audience
from debates.models_audience import Question, ReactionKind
from debates.services import questions, reactions
from events.models import Event

QUESTION_SENT = _("Thank you: your question is on the list.")
QUESTION_WAITING = _("Thank you: a moderator will look at your question before it is shown.")

PANELS = frozenset({host_actions_audience.PANEL})

# A refused question's HTTP status, by the service's error code (anything else: 400).
QUESTION_REFUSAL_STATUS = {"not_attendee": 403, "rate_limited": 429, "questions_closed": 409}


_UNREAD = object()


def _attendee_context(
    request: HttpRequest, event: Event, attendee: Any = _UNREAD, **extra: Any
) -> dict[str, Any]:
    if attendee is _UNREAD:  # the event page passes the one it has read
        attendee = selectors.attendee_for_session(event=event, session=request.session)
    board = selectors_audience.question_board(event_id=event.pk)
    upvoted, asked = (
        selectors_audience.my_question_ids(attendee_id=attendee.pk, event_id=event.pk)
        if attendee
        else ([], [])
    )
    return {
        "event": event,
        "attendee": attendee,
        "board": board,
        "upvoted": set(upvoted),
        "asked": set(asked),
        "settings": selectors_audience.audience_settings(event_id=event.pk),
        "question_max": questions.QUESTION_MAX_LENGTH,
        "name_max": questions.QUESTION_NAME_MAX_LENGTH,
        "reaction_kinds": ReactionKind.choices,
        "status_text": "",
        "error": False,
        **extra,
    }


def _answer(
    request: HttpRequest, event: Event, *, status: int = 200, text: str = "", error: bool = False
) -> HttpResponse:
    """The questions section (htmx), or the questions page (no JavaScript)."""
    if not request.htmx and status == 200 and text:
        messages.success(request, text)
        return redirect(reverse("debates:questions", args=[event.slug]))
    context = _attendee_context(request, event, status_text=text, error=error)
    template = "debates/audience.html#questions" if request.htmx else "debates/audience.html"
    return render(request, template, context, status=status)


def questions_html(request: HttpRequest, event: Event, attendee: Any) -> str:
    """The section as the event page holds it from the start, rendered with the page rather
    than fetched by a second request (issue 14, as debates.views.room.room_panel_html)."""
    context = _attendee_context(request, event, attendee)
    return render_to_string("debates/audience.html#questions", context, request=request)


@require_GET
def questions_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The attendee's questions: the section the event page loads, or a page of its own."""
    event = get_object_or_404(Event, slug=slug)
    return _answer(request, event)


@require_POST
def question_ask(request: HttpRequest, slug: str) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    attendee = selectors.attendee_for_session(event=event, session=request.session)
    try:
        question = questions.question_ask(
            event=event,
            attendee=attendee,
            text=request.POST.get("text", ""),
            name=request.POST.get("name", ""),
        )
    except ValidationError as refused:
        status = QUESTION_REFUSAL_STATUS.get(refused.code or "", 400)
        return _answer(request, event, status=status, text=" ".join(refused.messages), error=True)
    done = QUESTION_WAITING if question.status == "pending" else QUESTION_SENT
    return _answer(request, event, text=str(done))


@require_POST
def question_upvote(request: HttpRequest, slug: str, question_id: int) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    question = Question.objects.filter(pk=question_id, event=event).first()
    if question is None:
        raise Http404(questions.QUESTION_NOT_ON_LIST)
    attendee = selectors.attendee_for_session(event=event, session=request.session)
    try:
        questions.question_upvote(
            question=question, attendee=attendee, up=request.POST.get("up", "1") != "0"
        )
    except ValidationError as refused:
        status = QUESTION_REFUSAL_STATUS.get(refused.code or "", 400)
        return _answer(request, event, status=status, text=" ".join(refused.messages), error=True)
    if not request.htmx:
        return redirect(
            reverse("debates:questions", args=[event.slug]) + f"#question-{question.pk}"
        )
    return _answer(request, event)


@require_POST
def reaction_tap(request: HttpRequest, slug: str) -> HttpResponse:
    """A tap without the socket. Taps beyond the attendee's rate are dropped silently (204)."""
    event = get_object_or_404(Event, slug=slug)
    attendee = selectors.attendee_for_session(event=event, session=request.session)
    if attendee is None:
        return HttpResponse(questions.QUESTION_NOT_ATTENDEE, status=403, content_type="text/plain")
    kind = request.POST.get("reaction", "")
    if kind not in reactions.REACTIONS:
        return HttpResponse(reactions.REACTION_UNKNOWN, status=400, content_type="text/plain")
    reaction_tally.tap_from_thread(event_id=event.pk, attendee_id=attendee.pk, kind=kind)
    if request.htmx:
        return HttpResponse(status=204)
    return redirect(reverse("debates:questions", args=[event.slug]))


# ---------------------------------------------------------------- the console's panel


def panel_context(event: Event) -> dict[str, Any]:
    return {
        "event": event,
        "qboard": selectors_audience.question_board(event_id=event.pk, moderation=True),
    }


def panel(request: HttpRequest, event: Event) -> HttpResponse:
    """The console's questions panel, fresh (after an action, or when the board changed)."""
    return render(request, "debates/console_questions.html#panel", panel_context(event))
