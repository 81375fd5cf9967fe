"""Tags any page may use: where "Join" leads, and the subscribe form."""

from __future__ import annotations

from django import template

from events.forms import subscribe_form_for
from events.links import join_path
from events.models import Event

register = template.Library()


@register.simple_tag
def join_url(event: Event) -> str:
    """Where "Join" leads (events.links.join_path)."""
    return join_path(event)


@register.inclusion_tag("events/subscribe.html#subscribe_form", takes_context=True)
def subscribe_box(context, event: Event | None = None) -> dict:
    """The subscribe form for any page: {% subscribe_box event %} (event optional)."""
    request = context["request"]
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "subscribe_form": subscribe_form_for(request, event),
    }
