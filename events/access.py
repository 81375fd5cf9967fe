"""Who may change an event: its organiser (and superusers). Host rights, which reach the live
debate's controls, are the debate's own rule (debates.selectors.can_host)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from events.models import Event

NOT_AN_ORGANISER = _("Only this event's organiser can change it.")


def can_edit(*, event: Event, user: Any) -> bool:
    """Editing the event itself (details, speakers, themes) is for its organiser."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or event.organiser_id == user.pk


def event_for_organiser(request: HttpRequest, slug: str) -> Event:
    """The event an organiser edits: 404 if there is none, 403 for anyone but its organiser."""
    try:
        event = Event.objects.get(slug=slug)
    except Event.DoesNotExist:
        raise Http404(_("No such event.")) from None
    if not can_edit(event=event, user=request.user):
        raise PermissionDenied(NOT_AN_ORGANISER)
    return event
