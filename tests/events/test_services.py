from __future__ import annotations

import pytest

from events import signals
from events.services import (
    JOIN_CODE_ALPHABET,
    event_update,
    join_code_display,
    join_code_generate,
    join_code_normalise,
)
from tests.conftest import make_event


def test_join_codes_avoid_look_alike_letters():
    codes = {join_code_generate() for _ in range(500)}
    assert all(len(code) == 6 and set(code) <= set(JOIN_CODE_ALPHABET) for code in codes)
    assert not set("ILOU") & set("".join(codes))


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("k7m2qx", "K7M2QX"),
        (" k7m-2qx ", "K7M2QX"),
        ("SPRINT", "SPR1NT"),
        ("spr lnt", "SPR1NT"),
        ("R0MP42", "R0MP42"),
        ("ROMP42", "R0MP42"),
    ],
)
def test_it_reads_a_typed_code_the_way_it_was_meant(typed, meant):
    assert join_code_normalise(typed) == meant


def test_codes_are_shown_in_two_halves():
    assert join_code_display("K7M2QX") == "K7M-2QX"


@pytest.mark.django_db
def test_each_event_gets_its_own_code_slug_and_host_key(organiser):
    a = make_event(organiser, title="Same title")
    b = make_event(organiser, title="Same title")
    assert a.join_code != b.join_code
    assert a.slug == "same-title" and b.slug == "same-title-2"
    assert a.host_key != b.host_key and len(a.host_key) >= 32


# ---------------------------------------------------------------- announcing an edit


@pytest.fixture
def announced():
    """The event ids events.signals.event_changed is sent with, by a receiver of the test's own."""
    seen: list[int] = []

    def receiver(sender, event_id, **kwargs):
        seen.append(event_id)

    signals.event_changed.connect(receiver, dispatch_uid="test-announced")
    yield seen
    signals.event_changed.disconnect(dispatch_uid="test-announced")


@pytest.mark.django_db
def test_an_edited_event_is_announced_once_its_change_is_committed(
    event, announced, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event_update(event=event, motion="Roadmaps are a promise we cannot keep.")
    assert announced == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert announced == [event.pk]


@pytest.mark.django_db
def test_an_edit_that_changes_nothing_is_not_announced(
    event, announced, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        event_update(event=event, motion=event.motion, title=event.title)
    assert callbacks == [] and announced == []
