"""Who may reach host controls: can_host and the host link."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore

from debates.selectors import can_host
from debates.services.hosts import host_link_redeem
from events.models import Speaker, SpeakerRole

pytestmark = pytest.mark.django_db


def test_organiser_host_and_moderator_can_host(event, organiser, host_user, moderator_user):
    for user in (organiser, host_user, moderator_user):
        assert can_host(event=event, user=user, session={})


def test_superuser_can_host_any_event(event):
    admin = get_user_model().objects.create_superuser("root", password="pw-root-1")
    assert can_host(event=event, user=admin, session=None)


def test_stranger_anonymous_and_panelist_cannot_host(event, stranger_user):
    Speaker.objects.create(event=event, name="Pan", role=SpeakerRole.PANELIST, user=stranger_user)
    assert not can_host(event=event, user=stranger_user, session={})
    assert not can_host(event=event, user=AnonymousUser(), session={})
    assert not can_host(event=event, user=None, session=None)


def test_a_host_of_one_event_cannot_host_another(event, other_event, host_user):
    assert not can_host(event=other_event, user=host_user, session={})


def test_inactive_account_cannot_host(event, host_user):
    host_user.is_active = False
    host_user.save(update_fields=["is_active"])
    assert not can_host(event=event, user=host_user, session={})


def test_host_link_marks_the_session_for_that_event_only(event, other_event):
    session = SessionStore()
    assert not host_link_redeem(event=event, key="wrong", session=session)
    assert not can_host(event=event, user=AnonymousUser(), session=session)
    assert host_link_redeem(event=event, key=event.host_key, session=session)
    assert can_host(event=event, user=AnonymousUser(), session=session)
    assert not can_host(event=other_event, user=AnonymousUser(), session=session)


def test_rotating_the_host_key_locks_out_old_links(event):
    session = SessionStore()
    host_link_redeem(event=event, key=event.host_key, session=session)
    event.host_key = "a-new-secret-key"
    event.save(update_fields=["host_key"])
    assert not can_host(event=event, user=AnonymousUser(), session=session)
