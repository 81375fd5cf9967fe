from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from events import selectors


def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "events/index.html",
        {"upcoming": selectors.events_upcoming(), "recaps": selectors.recaps_published()},
    )


@login_required
def organiser_home(request: HttpRequest) -> HttpResponse:
    return render(
        request, "events/organiser_home.html", {"events": selectors.events_for_user(request.user)}
    )
