"""Paths the site's pages and its emails both link to, with no page machinery (forms, tags)
behind them, so events.mail can use them too."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from events.models import Admission, Event


def join_path(event: Event) -> str:
    """Where "Join" leads: an open event's standing link; for an event that admits by the
    screen's code, the page to type it (its standing link admits nobody)."""
    # The join pages belong to the live-voting app; fall back to their documented paths.
    try:
        if event.admission != Admission.OPEN:
            return reverse("debates:join")
        return reverse("debates:join_link", kwargs={"code": event.join_code})
    except NoReverseMatch:
        return "/join/" if event.admission != Admission.OPEN else f"/j/{event.join_code}/"
