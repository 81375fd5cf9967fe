"""Takeaways: the host adds, edits, deletes and reorders them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from debates import live, selectors
from debates.services import takeaways

pytestmark = pytest.mark.django_db


def titles(event) -> list[str]:
    return [t.title for t in selectors.takeaways(event_id=event.pk)]


def test_takeaways_are_added_in_order_and_announced(
    event, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        takeaways.takeaway_add(event=event, title="  Depth needs  a home ", text="Guilds help.")
        takeaways.takeaway_add(event=event, title="Rotate on purpose")
    assert titles(event) == ["Depth needs a home", "Rotate on purpose"]
    assert [m["type"] for m in sent.to(live.event_group(event.pk))] == ["takeaways.changed"] * 2


def test_a_takeaway_is_edited(event):
    takeaway = takeaways.takeaway_add(event=event, title="Draft")
    takeaways.takeaway_edit(takeaway=takeaway, title="Final", text="With detail")
    takeaway.refresh_from_db()
    assert (takeaway.title, takeaway.text) == ("Final", "With detail")


@pytest.mark.parametrize(
    ("title", "text", "reason"),
    [
        ("  ", "", takeaways.TAKEAWAY_TITLE_EMPTY),
        ("x" * 201, "", takeaways.TAKEAWAY_TITLE_TOO_LONG),
        ("Fine", "y" * 2001, takeaways.TAKEAWAY_TEXT_TOO_LONG),
    ],
)
def test_bad_takeaways_are_refused(event, title, text, reason):
    with pytest.raises(ValidationError) as refused:
        takeaways.takeaway_add(event=event, title=title, text=text)
    assert refused.value.messages == [reason]


def test_deleting_closes_the_gap(event):
    _, second, _ = (takeaways.takeaway_add(event=event, title=t) for t in "ABC")
    takeaways.takeaway_delete(takeaway=second)
    assert [(t.title, t.position) for t in selectors.takeaways(event_id=event.pk)] == [
        ("A", 0),
        ("C", 1),
    ]


def test_reorder_puts_takeaways_in_the_given_order(event):
    a, b, c = (takeaways.takeaway_add(event=event, title=t) for t in "ABC")
    takeaways.takeaway_reorder(event=event, order=[c.pk, a.pk, b.pk])
    assert titles(event) == ["C", "A", "B"]


@pytest.mark.parametrize("order", ["missing", "duplicate", "foreign"])
def test_reorder_refuses_an_incomplete_or_foreign_list(event, other_event, order):
    a, b = (takeaways.takeaway_add(event=event, title=t) for t in "AB")
    foreign = takeaways.takeaway_add(event=other_event, title="X")
    ids = {"missing": [a.pk], "duplicate": [a.pk, a.pk], "foreign": [foreign.pk, b.pk]}[order]
    with pytest.raises(ValidationError) as refused:
        takeaways.takeaway_reorder(event=event, order=ids)
    assert refused.value.messages == [takeaways.TAKEAWAY_ORDER_INVALID]
    assert titles(event) == ["A", "B"]


def test_arrows_move_a_takeaway_up_and_down_and_stop_at_the_ends(event):
    a, _, c = (takeaways.takeaway_add(event=event, title=t) for t in "ABC")
    takeaways.takeaway_move(takeaway=c, offset=-1)
    assert titles(event) == ["A", "C", "B"]
    takeaways.takeaway_move(takeaway=a, offset=-1)
    assert titles(event) == ["A", "C", "B"]
    takeaways.takeaway_move(takeaway=a, offset=1)
    assert titles(event) == ["C", "A", "B"]
