from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.forms import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from debates.selectors import can_edit, can_host, event_for_host, event_for_organiser
from events import selectors, services
from events.forms import (
    EventForm,
    PublishForm,
    ResourceFormSet,
    SpeakerFormSet,
    SubscribeForm,
    ThemeFormSet,
)
from events.models import Event

RECAP_NOT_PUBLISHED = _("This recap has not been published.")
SUBSCRIBERS_NOT_ALLOWED = _("Only organisers can export the subscriber list.")
PUBLISH_CHOICE_MISSING = _("Choose whether to publish or unpublish the recap.")

# CSV cells a spreadsheet would run as a formula if they began with one of these.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "events/index.html",
        {
            "upcoming": selectors.events_upcoming(),
            "recaps": selectors.recaps_published(),
            "subscribe_form": _subscribe_form(request),
        },
    )


@login_required
def organiser_home(request: HttpRequest) -> HttpResponse:
    return render(
        request, "events/organiser_home.html", {"events": selectors.events_for_user(request.user)}
    )


# ---------------------------------------------------------------- recap and summary


@require_GET
def recap(request: HttpRequest, slug: str) -> HttpResponse:
    """The public recap once published; before that, a preview for the event's hosts only."""
    event = get_object_or_404(Event, slug=slug)
    if not event.recap_published and not can_host(
        event=event, user=request.user, session=request.session
    ):
        raise Http404(RECAP_NOT_PUBLISHED)
    return render(
        request,
        "events/recap.html",
        {
            "recap": selectors.event_recap(event),
            "subscribe_form": _subscribe_form(request, event),
        },
    )


@require_GET
def summary(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_host(request, slug)
    return render(request, "events/summary.html", _summary_context(request, event))


@require_POST
def recap_publish(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_organiser(request, slug)
    form = PublishForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(PUBLISH_CHOICE_MISSING)
    try:
        event = services.recap_publish(event=event, publish=form.cleaned_data["publish"])
    except ValidationError as error:
        return HttpResponseBadRequest(" ".join(error.messages))
    if request.htmx:
        return render(request, "events/summary.html#publish", _summary_context(request, event))
    return redirect("events:summary", slug=event.slug)


def _summary_context(request: HttpRequest, event: Event) -> dict:
    return {
        "event": event,
        "recap": selectors.event_recap(event),
        "can_publish": can_edit(event=event, user=request.user),
        "can_export_subscribers": selectors.subscribers_for(request.user) is not None,
        "subscriber_count": event.subscribers.count(),
        # The set-aside log (debates.SetAside), read through the reverse relation.
        "set_asides": event.set_asides.order_by("-created_at", "-pk"),
    }


# ---------------------------------------------------------------- exports


@require_GET
def export_markdown(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_host(request, slug)
    text = render_to_string(
        "events/recap.md",
        {
            "recap": selectors.event_recap(event),
            "index_url": request.build_absolute_uri(reverse("events:index")),
        },
    )
    # The template's tags leave runs of blank lines; in Markdown one blank line is the same.
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return _download(text, "text/markdown", f"{event.slug}-recap.md")


@require_GET
def export_votes(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_host(request, slug)
    # No vote times: see selectors.votes_for_export.
    rows = selectors.votes_for_export(event)
    return _csv(f"{event.slug}-votes.csv", ["voter", "poll", "side"], rows)


@require_GET
def export_points(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_host(request, slug)
    rows = (
        (
            p.pk,
            p.theme.name,
            p.side,
            p.text,
            p.upvotes,
            "yes" if p.highlighted else "no",
            p.status,
            p.merged_into_id or "",
            p.room.name if p.room else "",
            _iso(p.created_at),
        )
        for p in selectors.points_for_export(event)
    )
    header = [
        "point",
        "theme",
        "side",
        "text",
        "upvotes",
        "highlighted",
        "status",
        "merged_into",
        "room",
        "created_at",
    ]
    return _csv(f"{event.slug}-points.csv", header, rows)


@require_GET
def subscribers_csv(request: HttpRequest) -> HttpResponse:
    subscribers = selectors.subscribers_for(request.user)
    if subscribers is None:
        raise PermissionDenied(SUBSCRIBERS_NOT_ALLOWED)
    rows = (
        (
            s.email,
            _iso(s.consented_at),
            s.source_event.title if s.source_event else "",
            _iso(s.created_at),
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
        "signed_up_at_event",
        "first_signed_up_at",
        "unsubscribe_url",
    ]
    stamp = timezone.localdate().isoformat()
    return _csv(f"productbreaks-subscribers-{stamp}.csv", header, rows)


def _iso(at: datetime) -> str:
    return timezone.localtime(at).isoformat(timespec="seconds")


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv(filename: str, header: list[str], rows: Iterable[Iterable[object]]) -> HttpResponse:
    response = _download("", "text/csv", filename)
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return response


def _download(content: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Exports hold the audience's votes: never from a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------- subscribing


def _subscribe_form(request: HttpRequest, event: Event | None = None) -> SubscribeForm:
    return SubscribeForm(
        initial={"event": event.slug if event else "", "next": request.path},
    )


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
                email=data["email"], consented=data["consent"], source_event=event
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
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks (mail scanners follow links; they must not unsubscribe anyone), POST removes."""
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


def _event_parts(request: HttpRequest, event: Event) -> dict[str, BaseInlineFormSet]:
    data = request.POST if request.method == "POST" else None
    return {
        "speakers": SpeakerFormSet(data, instance=event, prefix="speakers"),
        "themes": ThemeFormSet(data, instance=event, prefix="themes"),
        "resources": ResourceFormSet(data, instance=event, prefix="resources"),
    }


def _event_form_page(
    request: HttpRequest, form: EventForm, parts: dict, event: Event | None
) -> HttpResponse:
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "parts": parts, "event": event}
    if event is not None:
        context["host_url"] = request.build_absolute_uri(
            reverse("debates:host_link", kwargs={"slug": event.slug, "key": event.host_key})
        )
    return render(request, "events/event_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def event_new(request: HttpRequest) -> HttpResponse:
    """Any signed-in account may organise: accounts are handed out by an administrator."""
    form = EventForm(request.POST or None)
    parts = _event_parts(request, Event())
    if request.method == "POST" and all([form.is_valid(), *(p.is_valid() for p in parts.values())]):
        with transaction.atomic():
            event = services.event_create(organiser=request.user, **form.cleaned_data)
            for formset in parts.values():
                formset.instance = event
                formset.save()
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
            event = services.event_update(event=event, **form.cleaned_data)
            for formset in parts.values():
                formset.save()
        messages.success(request, _("Your changes are saved."))
        return redirect("events:event_edit", slug=event.slug)
    return _event_form_page(request, form, parts, event)


@require_POST
def host_link_rotate(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_organiser(request, slug)
    services.host_key_rotate(event=event)
    messages.success(request, _("A new host link is ready; the old one no longer works."))
    return redirect("events:event_edit", slug=event.slug)
