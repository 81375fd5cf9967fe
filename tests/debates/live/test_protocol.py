"""debates.live.protocol: every message is built in one place, from plain values."""

from __future__ import annotations

import json

import pytest

from debates.live import protocol


def test_group_names_have_no_colons_and_the_event_is_read_back_from_its_group():
    assert [protocol.event_group(7), protocol.hosts_group(7), protocol.room_group(3)] == [
        "event-7",
        "hosts-7",
        "room-3",
    ]
    assert protocol.event_of_group(protocol.event_group(42)) == 42
    assert protocol.event_of_group(protocol.hosts_group(42)) is None


def test_a_hidden_tally_carries_no_counts_and_only_hosts_get_the_turnout():
    common = {
        "poll": 1,
        "version": 3,
        "kind": "pre_vote",
        "state": "open",
        "total": 4,
        "set_aside": 0,
    }
    counts = {"for": 1, "against": 2, "undecided": 1}

    public = protocol.tally_updated(**common, visible=False, hidden_from_attendees=True)
    full = protocol.tally_updated(
        **common,
        visible=True,
        hidden_from_attendees=True,
        counts=counts,
        percent={"for": 25, "against": 50, "undecided": 25},
        attendees=9,
    )

    assert "counts" not in public and "percent" not in public and "attendees" not in public
    assert full["counts"] == counts and full["attendees"] == 9


def test_a_tally_goes_in_full_to_the_hosts_and_public_to_everyone_else():
    assert protocol.tally_deliveries(5, full="F", public="P") == [
        ("hosts-5", "F", None),
        ("event-5", "P", "hosts-5"),
    ]


def test_round_and_point_messages_refuse_a_type_that_is_not_theirs():
    message = protocol.round_message(protocol.TIMER_CHANGED, round_id=1, number=2, ends_at=None)
    assert message == {"type": "timer.changed", "round": 1, "number": 2, "ends_at": None}
    with pytest.raises(ValueError):
        protocol.round_message("tally.updated", round_id=1, number=2, ends_at=None)
    with pytest.raises(ValueError):
        protocol.point_message("round.ended", point={"point": 1}, text="x")


def test_messages_encode_compactly_and_keep_non_ascii_text():
    text = protocol.encode(
        protocol.you_synced(attendee=True, host=False, name="Zoë", votes={3: "for"})
    )
    assert text == (
        '{"type":"you.synced","attendee":true,"host":false,"name":"Zoë","votes":{"3":"for"}}'
    )
    assert json.loads(text)["votes"] == {"3": "for"}
