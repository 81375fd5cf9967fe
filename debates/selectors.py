"""Reads about the live debate, and who may do what in it.

Access: one question decides who reaches host controls, over HTTP and over the socket:
can_host(event=..., user=..., session=...). A host is the event's organiser, a superuser, a
Speaker with role host or moderator linked to that account, or a browser whose session
redeemed the event's secret host link (debates:host_link).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from events.models import Event, SpeakerRole

# The session remembers, per event id, the host key it was granted with: rotating an event's
# host_key then locks out every browser that came in through the old link.
HOST_SESSION_KEY = "pb_host_events"
HOST_ROLES = (SpeakerRole.HOST, SpeakerRole.MODERATOR)

NOT_A_HOST = _("Only this event's hosts can do that.")
NOT_AN_ORGANISER = _("Only this event's organiser can change it.")


def _session_host_keys(session: Mapping[str, Any] | None) -> dict[str, str]:
    if session is None:
        return {}
    keys = session.get(HOST_SESSION_KEY)
    return keys if isinstance(keys, dict) else {}


def can_host(*, event: Event, user: Any, session: Mapping[str, Any] | None) -> bool:
    """Whether this user or session may run the event's console.

    `user` may be an AnonymousUser or None (a socket scope without auth); `session` is
    request.session or scope["session"]. Costs at most one query (the speaker lookup).
    """
    granted = _session_host_keys(session).get(str(event.pk))
    if granted and hmac.compare_digest(granted, event.host_key):
        return True
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or event.organiser_id == user.pk:
        return True
    return event.speakers.filter(user=user, role__in=HOST_ROLES).exists()


def can_edit(*, event: Event, user: Any) -> bool:
    """Editing the event itself (details, speakers, themes) is for its organiser."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or event.organiser_id == user.pk


def host_link_redeem(*, event: Event, key: str, session: Any) -> bool:
    """Marks the session as a host of the event if `key` is its secret host link key.

    Writes only to the session (no database row), which is why it sits beside can_host.
    Compared in constant time, so the key cannot be guessed a character at a time.
    """
    if not key or not hmac.compare_digest(key.encode(), event.host_key.encode()):
        return False
    keys = dict(_session_host_keys(session))
    keys[str(event.pk)] = event.host_key
    session[HOST_SESSION_KEY] = keys
    # A browser that becomes a host gets a fresh session id (no fixation of a shared link).
    if hasattr(session, "cycle_key"):
        session.cycle_key()
    return True


def event_for_host(request: HttpRequest, slug: str) -> Event:
    """The event a host view works on: 404 if there is none, 403 if the request may not host it."""
    try:
        event = Event.objects.get(slug=slug)
    except Event.DoesNotExist:
        raise Http404(_("No such event.")) from None
    if not can_host(event=event, user=request.user, session=request.session):
        raise PermissionDenied(NOT_A_HOST)
    return event


def event_for_organiser(request: HttpRequest, slug: str) -> Event:
    """The event an organiser edits: 404 if there is none, 403 for anyone but its organiser."""
    try:
        event = Event.objects.get(slug=slug)
    except Event.DoesNotExist:
        raise Http404(_("No such event.")) from None
    if not can_edit(event=event, user=request.user):
        raise PermissionDenied(NOT_AN_ORGANISER)
    return event
