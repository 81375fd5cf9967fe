"""Who may change an event: can_edit."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from events.access import can_edit

pytestmark = pytest.mark.django_db


def test_only_the_organiser_edits_the_event(event, organiser, host_user, stranger_user):
    assert can_edit(event=event, user=organiser)
    assert not can_edit(event=event, user=host_user)
    assert not can_edit(event=event, user=stranger_user)
    assert not can_edit(event=event, user=AnonymousUser())
