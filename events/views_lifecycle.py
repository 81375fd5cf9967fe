"""The organiser's list of events and what they do with one (issue 17): filter it by upcoming,
live, ended and archived; duplicate an event for the next evening; archive it; delete it after
a confirmation that says what goes with it. Each write is one function of events.lifecycle."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from events import lifecycle, selectors
from events.access import event_for_organiser

SHOW_LABELS = {
    selectors.Show.ALL: _("All"),
    selectors.Show.UPCOMING: _("Upcoming"),
    selectors.Show.LIVE: _("Live"),
    selectors.Show.ENDED: _("Ended"),
    selectors.Show.ARCHIVED: _("Archived"),
}
DELETE_CONFIRM_TITLE = _("Type the event's title to confirm.")


@login_required
def organiser_home(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", selectors.Show.ALL)
    if show not in selectors.Show.CHOICES:
        show = selectors.Show.ALL
    mine = selectors.events_for_user(request.user)
    tabs = [
        {
            "show": key,
            "label": SHOW_LABELS[key],
            "count": selectors.events_shown(mine, key).count(),
            "current": key == show,
        }
        for key in selectors.Show.CHOICES
    ]
    context = {"events": selectors.events_shown(mine, show), "tabs": tabs, "show": show}
    return render(request, "events/organiser_home.html", context)


@require_POST
def event_duplicate(request: HttpRequest, slug: str) -> HttpResponse:
    event = event_for_organiser(request, slug)
    copy = lifecycle.event_duplicate(event=event, organiser=request.user)
    messages.success(request, _("A copy is ready: check its date, then it is yours to edit."))
    return redirect("events:event_edit", slug=copy.slug)


@require_POST
def event_archive(request: HttpRequest, slug: str) -> HttpResponse:
    # Archiving takes the event off its organiser's working list: the organiser's call alone.
    event = event_for_organiser(request, slug, owner=True)
    archived = request.POST.get("archived", "1") != "0"
    lifecycle.event_archive(event=event, archived=archived)
    if archived:
        messages.success(
            request, _("Archived. It is under “Archived” and its pages are unchanged.")
        )
    else:
        messages.success(request, _("Back on your list."))
    return redirect(reverse("events:organiser_home") + ("?show=archived" if not archived else ""))


@require_http_methods(["GET", "POST"])
def event_delete(request: HttpRequest, slug: str) -> HttpResponse:
    """A page that says what deleting removes; the deletion needs the title typed back."""
    event = event_for_organiser(request, slug, owner=True)
    error = ""
    if request.method == "POST":
        if request.POST.get("title", "").strip() == event.title.strip():
            title = event.title
            lifecycle.event_delete(event=event)
            messages.success(
                request,
                _("“%(title)s” is deleted, with everything its attendees left.") % {"title": title},
            )
            return redirect("events:organiser_home")
        error = DELETE_CONFIRM_TITLE
    context = {"event": event, "removes": selectors.deletion_summary(event), "error": error}
    return render(request, "events/event_delete.html", context, status=400 if error else 200)
