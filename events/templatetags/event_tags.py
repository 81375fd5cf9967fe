"""Tags any page may use: where "Join" leads, and the subscribe form."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse

from events.forms import subscribe_form_for
from events.models import Admission, Event

register = template.Library()


@register.simple_tag
def join_url(event: Event) -> str:
    """Where "Join" leads: an open event's standing link; for an event that admits by the
    screen's code, the page to type it (its standing link admits nobody)."""
    # The join pages belong to the live-voting app; fall back to their documented paths.
    try:
        if event.admission != Admission.OPEN:
            return reverse("debates:join")
        return reverse("debates:join_link", kwargs={"code": event.join_code})
    except NoReverseMatch:
        return "/join/" if event.admission != Admission.OPEN else f"/j/{event.join_code}/"


@register.inclusion_tag("events/subscribe.html#subscribe_form", takes_context=True)
def subscribe_box(context, event: Event | None = None) -> dict:
    """The subscribe form for any page: {% subscribe_box event %} (event optional)."""
    request = context["request"]
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "subscribe_form": subscribe_form_for(request, event),
    }
