"""Host rights ending mid-connection: the debate's half (the realtime half is debates.live.hosts).

`still_hosting` is the checker the debate registers with live: its own rule (selectors.can_host)
with the user and the session read afresh, as a socket's scope holds both as they were at
connect. The receivers only announce, after commit, the saves that can end someone's host
rights: most happen in the admin, where no service runs (an organiser changed, a speaker
unlinked or deleted, a team member taken off, a user deactivated or no longer superuser); the host link's rotation
(events.services.host_key_rotate) is announced by the same receiver, as `events` must not
import the debate.
"""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user, get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from debates import live, selectors
from debates.live import hosts as live_hosts
from events.models import Event, Membership, Speaker

# Saves of these fields can end someone's host rights (None: a full save, as the admin does).
# A new password ends the other sessions of that account (Django's session auth hash).
EVENT_HOST_FIELDS = frozenset({"host_key", "organiser"})
USER_HOST_FIELDS = frozenset({"is_active", "is_superuser", "password"})


def session_afresh(session_key: str) -> Any:
    """The session as it is stored now (a socket's scope holds it as it was at connect)."""
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def user_of_session(session: Any) -> Any:
    """The account a session is logged in as now, as Django's auth middleware would find it:
    AnonymousUser once it logged out or its password changed (the session's auth hash). A
    socket's scope holds the user as it was at connect."""
    return get_user(SimpleNamespace(session=session))


def still_hosting(event_id: int, holders: list[live.Holder]) -> list[bool]:
    """For each (user id, session key): may it still host the event? Sync; one query for the
    event, then per holder one for its session, one for its user and at most one in can_host.
    Both are read afresh from the session: who it is logged in as now, what host link it holds."""
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        return [False] * len(holders)
    answers = []
    for _user_id, session_key in holders:
        session = session_afresh(session_key) if session_key else None
        user = user_of_session(session) if session is not None else None
        answers.append(selectors.can_host(event=event, user=user, session=session))
    return answers


def _touches(update_fields: Any, fields: frozenset[str]) -> bool:
    return update_fields is None or bool(fields & set(update_fields))


def _event_announce(event_id: int) -> None:
    transaction.on_commit(lambda: live_hosts.hosts_changed(event_id=event_id), robust=True)


def _user_announce(user_id: int) -> None:
    transaction.on_commit(lambda: live_hosts.hosts_changed(user_id=user_id), robust=True)


def _event_saved(sender, instance, created, update_fields, **kwargs) -> None:
    if not created and _touches(update_fields, EVENT_HOST_FIELDS):
        _event_announce(instance.pk)


def _event_deleted(sender, instance, **kwargs) -> None:
    _event_announce(instance.pk)


def _speaker_saved(sender, instance, created, **kwargs) -> None:
    if not created:  # a new speaker can only add rights; its socket gets them on reconnect
        _event_announce(instance.event_id)


def _speaker_deleted(sender, instance, **kwargs) -> None:
    _event_announce(instance.event_id)


def _membership_changed(sender, instance, **kwargs) -> None:
    # A new member only gains rights (their socket gets them on reconnect); a changed role
    # keeps the console (every role runs it) but is re-checked all the same, as is a removal.
    if not kwargs.get("created", False):
        _event_announce(instance.event_id)


def _user_saved(sender, instance, created, update_fields, **kwargs) -> None:
    if not created and _touches(update_fields, USER_HOST_FIELDS):
        _user_announce(instance.pk)


def _user_deleted(sender, instance, **kwargs) -> None:
    _user_announce(instance.pk)


def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:  # the session is flushed: its sockets lose what the account gave them
        live_hosts.hosts_changed(user_id=user.pk)


def connect() -> None:
    """Called once, from DebatesConfig.ready (debates.realtime plugs `still_hosting` in)."""
    user = get_user_model()
    uid = "debates.host_rights."
    post_save.connect(_event_saved, sender=Event, dispatch_uid=uid + "event_saved")
    post_delete.connect(_event_deleted, sender=Event, dispatch_uid=uid + "event_deleted")
    post_save.connect(_speaker_saved, sender=Speaker, dispatch_uid=uid + "speaker_saved")
    post_delete.connect(_speaker_deleted, sender=Speaker, dispatch_uid=uid + "speaker_deleted")
    post_save.connect(_membership_changed, sender=Membership, dispatch_uid=uid + "member_saved")
    post_delete.connect(_membership_changed, sender=Membership, dispatch_uid=uid + "member_deleted")
    post_save.connect(_user_saved, sender=user, dispatch_uid=uid + "user_saved")
    post_delete.connect(_user_deleted, sender=user, dispatch_uid=uid + "user_deleted")
    user_logged_out.connect(_logged_out, dispatch_uid=uid + "logged_out")
