from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from events.models import Event


def join(request: HttpRequest) -> HttpResponse:
    return render(request, "debates/join.html")


def event_page(request: HttpRequest, slug: str) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    return render(request, "debates/event.html", {"event": event})
