"""Reactions: the per-attendee rate limit (taps beyond it dropped silently), the in-memory sums
and their flush in one transaction, the meter's read and the per-window totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from debates import live, reaction_tally, selectors_audience
from debates.models_audience import ReactionCount
from debates.services import reactions

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 29, 19, 0, 7, tzinfo=UTC)


@pytest.fixture
def tally() -> reaction_tally.Tally:
    return reaction_tally.Tally()


@pytest.fixture
def changed(monkeypatch) -> list[tuple[str, int]]:
    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(live, "changed", lambda kind, event_id: calls.append((kind, event_id)))
    return calls


def test_taps_beyond_the_attendees_rate_are_dropped_silently(tally, event, attendee):
    accepted = [
        tally.tap(event_id=event.pk, attendee_id=attendee.pk, kind="agree", at=AT)
        for _ in range(reaction_tally.BURST + 3)
    ]
    assert accepted == [True] * reaction_tally.BURST + [False] * 3
    assert (tally.accepted, tally.dropped) == (reaction_tally.BURST, 3)
    # Another attendee has a bucket of their own.
    assert tally.tap(event_id=event.pk, attendee_id=attendee.pk + 1, kind="agree", at=AT)


def test_a_tap_a_second_stays_under_the_limit(tally, event, attendee, monkeypatch):
    clock = iter(float(second) for second in range(100))
    monkeypatch.setattr(reaction_tally.time, "monotonic", lambda: next(clock))
    assert all(
        tally.tap(event_id=event.pk, attendee_id=attendee.pk, kind="unclear", at=AT)
        for _ in range(60)
    )


def test_a_flush_writes_the_sums_in_one_transaction_and_announces_the_meter(
    tally, event, attendee, changed, django_capture_on_commit_callbacks
):
    other = attendee.pk + 1
    for who, kind in [(attendee.pk, "agree"), (attendee.pk, "agree"), (other, "agree")]:
        tally.tap(event_id=event.pk, attendee_id=who, kind=kind, at=AT)
    tally.tap(event_id=event.pk, attendee_id=other, kind="unclear", at=AT + timedelta(seconds=30))

    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        written = tally.flush()
    assert written == 4
    rows = {
        (r.bucket, r.kind): (r.taps, r.people) for r in ReactionCount.objects.order_by("bucket")
    }
    assert rows == {
        (reactions.bucket_of(AT), "agree"): (3, 2),
        (reactions.bucket_of(AT + timedelta(seconds=30)), "unclear"): (1, 1),
    }
    assert changed == [("reactions", event.pk)]
    # One INSERT for all the new rows, however many taps.
    assert sum(1 for q in queries.captured_queries if "INSERT" in q["sql"]) == 1
    assert tally.flush() == 0  # nothing new: nothing written


def test_two_flushes_into_one_bucket_add_up_as_two_processes_would(event, attendee):
    first, second = reaction_tally.Tally(), reaction_tally.Tally()
    first.tap(event_id=event.pk, attendee_id=attendee.pk, kind="agree", at=AT)
    second.tap(event_id=event.pk, attendee_id=attendee.pk + 1, kind="agree", at=AT)
    second.tap(event_id=event.pk, attendee_id=attendee.pk + 1, kind="agree", at=AT)
    first.flush()
    second.flush()
    row = ReactionCount.objects.get()
    assert (row.taps, row.people) == (3, 2)


def test_taps_of_a_deleted_event_are_dropped_not_failed(tally, event, attendee):
    tally.tap(event_id=event.pk + 999, attendee_id=attendee.pk, kind="agree", at=AT)
    assert tally.flush() == 0
    assert not ReactionCount.objects.exists()


def test_a_failed_flush_keeps_the_taps_for_the_next_one(tally, event, attendee, monkeypatch):
    tally.tap(event_id=event.pk, attendee_id=attendee.pk, kind="agree", at=AT)

    def broken(**kwargs):
        raise RuntimeError("database away")

    monkeypatch.setattr(reactions, "reactions_flush", broken)
    with pytest.raises(RuntimeError):
        tally.flush()
    monkeypatch.undo()
    assert tally.flush() == 1


def test_the_meter_reads_the_last_half_minute_and_the_totals(event):
    now = AT
    ReactionCount.objects.create(
        event=event, bucket=now - timedelta(minutes=5), kind="agree", taps=7
    )
    ReactionCount.objects.create(
        event=event, bucket=now - timedelta(seconds=15), kind="agree", taps=2
    )
    ReactionCount.objects.create(event=event, bucket=now, kind="unclear", taps=4)
    recent, totals = selectors_audience.reactions_meter(event_id=event.pk, now=now, seconds=30)
    assert recent == {"agree": 2, "unconvinced": 0, "unclear": 4}
    assert totals == {"agree": 9, "unconvinced": 0, "unclear": 4}


def test_reactions_per_window_sums_each_windows_buckets(event):
    start = AT.replace(second=0)
    for minute, taps in [(0, 3), (1, 5), (2, 11)]:
        ReactionCount.objects.create(
            event=event, bucket=start + timedelta(minutes=minute), kind="agree", taps=taps, people=6
        )
    first, second = selectors_audience.reactions_per_window(
        event_id=event.pk,
        windows=[
            (start, start + timedelta(minutes=2)),
            (start + timedelta(minutes=2), start + timedelta(minutes=3)),
        ],
    )
    assert (first.taps["agree"], second.taps["agree"]) == (8, 11)
    assert first.people["agree"] == 6 and first.taps["unclear"] == 0
