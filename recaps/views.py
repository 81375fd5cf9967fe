from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from debates.selectors import can_host, event_for_host
from events.access import can_edit, event_for_organiser
from events.downloads import csv_download, download, iso
from events.forms import subscribe_form_for
from events.models import Event, Series
from events.selectors import subscribers_for
from recaps import audience, charts, selectors, series, services
from recaps.forms import PublishForm

RECAP_NOT_PUBLISHED = _("This recap has not been published.")
PUBLISH_CHOICE_MISSING = _("Choose whether to publish or unpublish the recap.")


# ---------------------------------------------------------------- recap and summary


@require_GET
def recap(request: HttpRequest, slug: str) -> HttpResponse:
    """The public recap once published; before that, a preview for the event's hosts only."""
    event = get_object_or_404(Event, slug=slug)
    if not event.recap_published and not can_host(
        event=event, user=request.user, session=request.session
    ):
        raise Http404(RECAP_NOT_PUBLISHED)
    # The recap is written in the event's language, whoever reads it (the page around it too:
    # one language per page, the one its lang attribute names).
    with translation.override(event.language):
        return render(
            request,
            "recaps/recap.html",
            {
                "recap": selectors.event_recap(event),
                "audience": audience.audience_recap(event),
                "subscribe_form": subscribe_form_for(request, event),
            },
        )


@require_GET
def series_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A series' motions, each across the events that debated it (published recaps only)."""
    found = get_object_or_404(Series, slug=slug)
    histories = series.series_history(found)
    return render(
        request,
        "recaps/series.html",
        {
            "series": found,
            "histories": [
                {"history": h, "chart": charts.motion_history(h, chart_id=f"motion-{n}")}
                for n, h in enumerate(histories, start=1)
            ],
        },
    )


@require_GET
def summary(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_host(request, slug)
    with translation.override(event.language):
        return render(request, "recaps/summary.html", _summary_context(request, event))


@require_POST
def recap_publish(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_organiser(request, slug)
    form = PublishForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(PUBLISH_CHOICE_MISSING)
    try:
        event = services.recap_publish(
            event=event, publish=form.cleaned_data["publish"], by=request.user
        )
    except ValidationError as error:
        return HttpResponseBadRequest(" ".join(error.messages))
    if request.htmx:
        with translation.override(event.language):
            context = _summary_context(request, event)
            return render(request, "recaps/summary.html#publish", context)
    return redirect("recaps:summary", slug=event.slug)


def _summary_context(request: HttpRequest, event: Event) -> dict:
    return {
        "event": event,
        "recap": selectors.event_recap(event),
        "audience": audience.audience_recap(event),
        "can_publish": can_edit(event=event, user=request.user),
        # The publish step a page without JavaScript asked to confirm (?confirm=publish).
        "confirm": request.GET.get("confirm", "")[:40],
        "can_export_subscribers": subscribers_for(request.user) is not None,
        "subscriber_count": event.subscribers.count(),
        # The set-aside log (debates.SetAside), read through the reverse relation.
        "set_asides": event.set_asides.order_by("-created_at", "-pk"),
    }


# ---------------------------------------------------------------- exports


@require_GET
def export_markdown(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_host(request, slug)
    with translation.override(event.language):
        text = render_to_string(
            "recaps/recap.md",
            {
                "recap": selectors.event_recap(event),
                "audience": audience.audience_recap(event),
                "index_url": request.build_absolute_uri(reverse("events:index")),
            },
        )
    # The template's tags leave runs of blank lines; in Markdown one blank line is the same.
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return download(text, "text/markdown", f"{event.slug}-recap.md")


@require_GET
def export_votes(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_host(request, slug)
    # No vote times: see selectors.votes_for_export.
    rows = selectors.votes_for_export(event)
    return csv_download(f"{event.slug}-votes.csv", ["voter", "poll", "side"], rows)


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
            iso(p.created_at),
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
    return csv_download(f"{event.slug}-points.csv", header, rows)


@require_GET
def export_persuasion(request: HttpRequest, slug: str) -> HttpResponse:
    """What changed minds, anonymised like the votes: counts only, and only what at least
    MIN_GROUP switchers named (recaps.stage); no names, no times."""
    event = event_for_host(request, slug)
    # The CSV's columns and codes are for programs; a persuader's text may be worded by the
    # recap (its own label for a turn or a point), so in the event's language.
    with translation.override(event.language):
        persuaders = selectors.event_recap(event).persuaders
    rows = (
        (n, item.kind, item.text, item.side, item.named_by)
        for n, item in enumerate(persuaders, start=1)
    )
    header = ["rank", "kind", "text", "side", "switchers_naming_it"]
    return csv_download(f"{event.slug}-what-changed-minds.csv", header, rows)
