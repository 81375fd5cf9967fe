"""The console's door panel (debates.door): joins per minute, and flags for a burst of joins
from one network and for people who vote within a second of joining; flagged on a scripted
evening, quiet on a calm one, and a venue's Wi-Fi told apart from a script."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from debates import door
from debates.models import Poll, PollKind, Vote
from debates.services import voting
from events.models import Attendee, Event, Side

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(second=30, microsecond=0)
SCRIPT = "script0000000000"
VENUE = "venue00000000000"


def arrive(
    event: Event, poll: Poll, *, network: str, at: datetime, votes_after: timedelta | None
) -> Attendee:
    """Someone who joined at `at` and (unless None) first voted `votes_after` later."""
    attendee = Attendee.objects.create(
        event=event, token=secrets.token_urlsafe(16), network=network, joined_at=at
    )
    if votes_after is not None:
        cast = at + votes_after
        Vote.objects.create(poll=poll, attendee=attendee, side=Side.FOR, cast_at=cast)
    return attendee


def scripted(event: Event, poll: Poll, n: int = 60) -> None:
    """A script: n joins from one address inside one minute, each voting 0.2 s later."""
    minute = NOW.replace(second=0) - timedelta(minutes=2)
    for i in range(n):
        at = minute + timedelta(milliseconds=900 * i)
        arrive(event, poll, network=SCRIPT, at=at, votes_after=timedelta(milliseconds=200))


def calm(event: Event, poll: Poll) -> None:
    """People at home trickling in over half an hour (until 11 minutes ago), each reading before
    voting; and a hall behind one Wi-Fi address whose 40 people scan the QR code within a
    minute, then vote after reading the motion."""
    for i in range(30):
        at = NOW - timedelta(minutes=40) + timedelta(minutes=i)
        arrive(event, poll, network=f"home{i:012d}", at=at, votes_after=timedelta(seconds=20 + i))
    hall = NOW.replace(second=0) - timedelta(minutes=5)
    for i in range(40):
        at = hall + timedelta(seconds=i)
        arrive(event, poll, network=VENUE, at=at, votes_after=timedelta(seconds=4 + i % 30))


@pytest.fixture
def poll(event) -> Poll:
    return voting.poll_open(event=event, kind=PollKind.PRE_VOTE)


def test_a_scripted_burst_is_flagged_twice_over(event, poll):
    calm(event, poll)
    scripted(event, poll)

    view = door.door_view(event_id=event.pk, now=NOW)

    assert view.flagged
    row = next(r for r in view.networks if r.network == SCRIPT)
    assert row.burst and row.peak == 60
    assert row.instant == 60 and row.instant_flagged
    assert view.networks[0].network == SCRIPT  # flagged rows come first
    assert view.instant == 60 and view.instant_flagged
    # Joins per minute show the spike, two minutes ago.
    assert [m.joins for m in view.minutes][-3] == 60


def test_a_calm_evening_raises_no_instant_voter_flag_and_the_venue_reads_as_a_venue(event, poll):
    calm(event, poll)

    view = door.door_view(event_id=event.pk, now=NOW)

    assert view.instant == 0 and not view.instant_flagged
    venue = next(r for r in view.networks if r.network == VENUE)
    # Forty joins in a minute from one address is a burst; nobody voting instantly is the tell.
    assert venue.burst and venue.instant == 0 and not venue.instant_flagged
    assert [r.network for r in view.networks] == [VENUE]  # homes are one join each: not listed


def test_a_trickle_from_one_office_is_not_a_burst(event, poll):
    for i in range(15):
        at = NOW - timedelta(minutes=10) + timedelta(seconds=40 * i)
        arrive(event, poll, network=VENUE, at=at, votes_after=timedelta(seconds=30))

    view = door.door_view(event_id=event.pk, now=NOW)

    [row] = view.networks
    assert row.joins == 15 and not row.burst and not row.flagged and not view.flagged


def test_a_few_fast_thumbs_are_not_a_group(event, poll):
    for i in range(door.INSTANT_FLAG - 1):
        at = NOW - timedelta(minutes=3 + i)
        arrive(event, poll, network=f"home{i:012d}", at=at, votes_after=timedelta(seconds=0.5))

    view = door.door_view(event_id=event.pk, now=NOW)

    assert view.instant == door.INSTANT_FLAG - 1 and not view.flagged


def test_a_script_spread_over_many_addresses_is_flagged_by_its_instant_voters(event, poll):
    for i in range(12):
        at = NOW - timedelta(seconds=30 + i)
        arrive(event, poll, network=f"proxy{i:011d}", at=at, votes_after=timedelta(seconds=0.1))

    view = door.door_view(event_id=event.pk, now=NOW)

    assert view.networks == () and view.instant == 12 and view.flagged
    group = door.group_for_key(event_id=event.pk, key=view.instant_key, now=NOW)
    assert group.flagged and len(group.pending) == 12


def test_a_key_names_the_group_the_panel_showed(event, poll):
    calm(event, poll)
    scripted(event, poll)
    view = door.door_view(event_id=event.pk, now=NOW)
    row = next(r for r in view.networks if r.network == SCRIPT)

    network = door.group_for_key(event_id=event.pk, key=row.network_key, now=NOW)
    venue = next(r for r in view.networks if r.network == VENUE)
    instant_at_venue = door.group_for_key(event_id=event.pk, key=venue.instant_key, now=NOW)

    assert network.flagged and len(network.pending) == 60
    assert not instant_at_venue.flagged and instant_at_venue.pending == ()


def test_the_door_panel_costs_the_same_few_queries_for_a_small_or_a_scripted_event(
    client, host_user, event, poll, django_assert_max_num_queries
):
    client.force_login(host_user)
    panel = reverse("debates:console_panel", args=[event.slug, "door"])
    calm(event, poll)
    with django_assert_max_num_queries(10):  # session, user, event, host check, door's five
        small = client.get(panel)
    scripted(event, poll, n=200)
    with django_assert_max_num_queries(10):
        big = client.get(panel)
    assert small.status_code == big.status_code == 200
    assert "looks like a venue" in small.content.decode()
    body = big.content.decode()
    assert "looks like a script" in body and "data-door-flag" in body
    assert f'value="instant:{SCRIPT}:' in body  # the button names a rule, not people


def test_the_panel_shows_no_set_aside_buttons_once_the_recap_is_published(
    client, host_user, event, poll
):
    scripted(event, poll)
    Event.objects.filter(pk=event.pk).update(phase="ended", recap_published=True)
    client.force_login(host_user)
    body = client.get(reverse("debates:console_panel", args=[event.slug, "door"])).content
    assert b"votes.set_aside" not in body
    assert b"The recap is published" in body
