from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.forms import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from events import lifecycle, selectors, services, tokens
from events.access import event_for_organiser
from events.calendar import event_calendar
from events.downloads import csv_download, iso
from events.forms import (
    EventForm,
    ResourceFormSet,
    SpeakerFormSet,
    SubscribeForm,
    ThemeFormSet,
    TurnFormSet,
    subscribe_form_for,
)
from events.models import Event, Side, SpeakerRole
from events.templatetags.event_tags import join_url

SUBSCRIBERS_NOT_ALLOWED = _("Only organisers can export the subscriber list.")


@require_GET
def event_ics(request: HttpRequest, slug: str) -> HttpResponse:
    """The event as a calendar entry: "Add to calendar" (events/calendar.py)."""
    event = get_object_or_404(Event, slug=slug)
    body = event_calendar(
        event,
        host=request.get_host().split(":")[0],
        page_url=request.build_absolute_uri(event.get_absolute_url()),
        join_url=request.build_absolute_uri(join_url(event)),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{event.slug}.ics"'
    return response


def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "events/index.html",
        {
            "upcoming": selectors.events_upcoming(),
            "recaps": selectors.recaps_published(),
            "subscribe_form": subscribe_form_for(request),
        },
    )


# ---------------------------------------------------------------- the subscriber list


@require_GET
def subscribers_csv(request: HttpRequest) -> HttpResponse:
    subscribers = selectors.subscribers_for(request.user)
    if subscribers is None:
        raise PermissionDenied(SUBSCRIBERS_NOT_ALLOWED)
    rows = (
        (
            s.email,
            iso(s.consented_at),
            iso(s.confirmed_at) if s.confirmed_at else "",
            "yes" if s.wants_announcements else "no",
            "yes" if s.wants_recaps else "no",
            s.source_event.title if s.source_event else "",
            iso(s.created_at),
            # Every email sent to the list carries the person's own link.
            request.build_absolute_uri(
                reverse("events:unsubscribe", args=[services.unsubscribe_token(s.email)])
            ),
        )
        for s in subscribers
    )
    header = [
        "email",
        "consented_at",
        "confirmed_at",
        "wants_announcements",
        "wants_recaps",
        "signed_up_at_event",
        "first_signed_up_at",
        "unsubscribe_url",
    ]
    stamp = timezone.localdate().isoformat()
    return csv_download(f"productbreaks-subscribers-{stamp}.csv", header, rows)


# ---------------------------------------------------------------- subscribing


@require_POST
def subscribe(request: HttpRequest) -> HttpResponse:
    """Signs a reader up; the same thanks whether or not the address was already listed.

    The page does not say which, so nobody can test whether someone else is subscribed.
    """
    form = SubscribeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        event = Event.objects.filter(slug=data["event"]).first() if data["event"] else None
        try:
            services.subscriber_add(
                email=data["email"],
                consented=data["consent"],
                source_event=event,
                **form.chosen_lists(),
            )
        except ValidationError as error:
            form.add_error("consent" if error.code == "consent" else "email", error)
        else:
            back = data["next"]
            if not url_has_allowed_host_and_scheme(
                back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                back = reverse("events:index")
            back = back.split("#", 1)[0]
            return redirect(f"{back}{'&' if '?' in back else '?'}subscribed=1#subscribe")
    return render(request, "events/subscribe.html", {"subscribe_form": form}, status=400)


@require_http_methods(["GET", "POST"])
def subscribe_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the confirmation email (double opt-in). GET asks (mail scanners follow
    links; they must not confirm anyone), POST confirms."""
    try:
        sign_up = tokens.sign_up_for(token)
    except ValidationError as error:
        context = {"error": error.messages[0]}
        return render(request, "events/subscribe_confirm.html", context, status=400)
    if request.method == "GET":
        return render(request, "events/subscribe_confirm.html", {"sign_up": sign_up})
    try:
        services.subscriber_confirm(token=token)
    except ValidationError as error:
        context = {"error": error.messages[0]}
        return render(request, "events/subscribe_confirm.html", context, status=400)
    return render(request, "events/subscribe_confirm.html", {"sign_up": sign_up, "done": True})


# RFC 8058 one-click unsubscribe: a mail provider POSTs "List-Unsubscribe=One-Click" to the
# List-Unsubscribe URL from its own servers, with no cookie or CSRF token, and must get no
# confirmation page. The signed token in the URL is the credential (it names one address and
# cannot be forged), so CSRF protection would add nothing here: a forged cross-site POST needs
# the token, and with it could unsubscribe only that address. The one exempt view (SECURITY.md).
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks (mail scanners follow links; they must not unsubscribe anyone), POST removes:
    the page's button, or a mail provider's one-click POST (RFC 8058)."""
    try:
        email = services.subscriber_email_for(token)
    except ValidationError as error:
        return render(request, "events/unsubscribe.html", {"error": error.messages[0]}, status=400)
    done = False
    if request.method == "POST":
        services.subscriber_remove(token=token)
        done = True
    return render(request, "events/unsubscribe.html", {"email": email, "done": done})


# ---------------------------------------------------------------- organising (host console)


# A debate has two sides: a new event's form starts with a speaker row for each.
NEW_EVENT_SPEAKERS = [
    {"role": SpeakerRole.PANELIST, "side": Side.FOR},
    {"role": SpeakerRole.PANELIST, "side": Side.AGAINST},
]


def _event_parts(request: HttpRequest, event: Event) -> dict[str, BaseInlineFormSet]:
    data = request.POST if request.method == "POST" else None
    speakers = SpeakerFormSet(
        data,
        instance=event,
        prefix="speakers",
        initial=NEW_EVENT_SPEAKERS if event.pk is None else None,
    )
    if event.pk is None:
        # Rows left as they were offered are not saved (Django skips unchanged extra forms).
        speakers.extra = len(NEW_EVENT_SPEAKERS)
    return {
        "speakers": speakers,
        "turns": TurnFormSet(data, instance=event, prefix="turns"),
        "themes": ThemeFormSet(data, instance=event, prefix="themes"),
        "resources": ResourceFormSet(data, instance=event, prefix="resources"),
    }


def _with_series(organiser: Any, data: dict) -> dict:
    """The form's fields, the series they name made the organiser's Series (or none)."""
    fields = dict(data)
    name = fields.pop("series_name", "")
    fields["series"] = lifecycle.series_for(organiser=organiser, name=name)
    return fields


def _event_form_page(
    request: HttpRequest, form: EventForm, parts: dict, event: Event | None
) -> HttpResponse:
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "parts": parts, "event": event}
    if event is not None:
        context["host_url"] = request.build_absolute_uri(
            reverse("debates:host_link", kwargs={"slug": event.slug, "key": event.host_key})
        )
        context["join_code"] = services.join_code_display(event.join_code)
    return render(request, "events/event_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def event_new(request: HttpRequest) -> HttpResponse:
    """Any signed-in account may organise: accounts are handed out by an administrator."""
    form = EventForm(request.POST or None)
    parts = _event_parts(request, Event())
    if request.method == "POST" and all([form.is_valid(), *(p.is_valid() for p in parts.values())]):
        with transaction.atomic():
            fields = _with_series(request.user, form.cleaned_data)
            event = services.event_create(organiser=request.user, **fields)
            for formset in parts.values():
                formset.instance = event
                formset.save()
            services.turns_from_speakers(event=event)
        messages.success(request, _("“%(title)s” is ready.") % {"title": event.title})
        return redirect("events:event_edit", slug=event.slug)
    return _event_form_page(request, form, parts, None)


@login_required
@require_http_methods(["GET", "POST"])
def event_edit(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_organiser(request, slug)
    form = EventForm(request.POST or None, instance=event)
    parts = _event_parts(request, event)
    if request.method == "POST" and all([form.is_valid(), *(p.is_valid() for p in parts.values())]):
        with transaction.atomic():
            fields = _with_series(event.organiser, form.cleaned_data)
            event = services.event_update(event=event, **fields)
            for formset in parts.values():
                formset.save()
            # No turns left (or never any): the running order is built from the speakers.
            services.turns_from_speakers(event=event)
        messages.success(request, _("Your changes are saved."))
        return redirect("events:event_edit", slug=event.slug)
    return _event_form_page(request, form, parts, event)


@require_POST
def host_link_rotate(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_organiser(request, slug)
    services.host_key_rotate(event=event)
    messages.success(request, _("A new host link is ready; the old one no longer works."))
    return redirect("events:event_edit", slug=event.slug)
