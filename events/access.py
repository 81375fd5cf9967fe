"""Who may change an event: its organiser, its co-organisers (events.team) and superusers; only
the organiser (or a superuser) may delete it. Host rights, which reach the live debate's
controls, are the debate's own rule (debates.selectors.can_host)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from events.models import Event, Membership, TeamRole

NOT_AN_ORGANISER = _("Only this event's organisers can change it.")
NOT_THE_OWNER = _("Only the organiser who made this event can do that.")


def can_own(*, event: Event, user: Any) -> bool:
    """Deleting the event, which nobody can undo, and emailing its organiser's subscribers are
    for the organiser who made it."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or event.organiser_id == user.pk


def can_edit(*, event: Event, user: Any) -> bool:
    """Editing the event itself (details, speakers, themes, its team) is for its organisers."""
    if can_own(event=event, user=user):
        return True
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return Membership.objects.filter(event=event, user=user, role=TeamRole.CO_ORGANISER).exists()


def event_for_organiser(request: HttpRequest, slug: str, *, owner: bool = False) -> Event:
    """The event an organiser edits: 404 if there is none, 403 for anyone but its organisers
    (`owner`: for anyone but the organiser who made it)."""
    try:
        event = Event.objects.get(slug=slug)
    except Event.DoesNotExist:
        raise Http404(_("No such event.")) from None
    if owner and not can_own(event=event, user=request.user):
        raise PermissionDenied(NOT_THE_OWNER)
    if not can_edit(event=event, user=request.user):
        raise PermissionDenied(NOT_AN_ORGANISER)
    return event
