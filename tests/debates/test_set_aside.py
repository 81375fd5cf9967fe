"""Setting a flagged group's votes aside, and undoing it (debates.services.set_aside): the live tally and
its socket message leave the votes out and say how many, undo restores them, the recap's
publication freezes both, every set-aside is logged with who, when and how many, and only a
group the door panel flags can be set aside."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from debates import door, live, realtime
from debates.models import PollKind, SetAside, Vote
from debates.selectors import poll_snapshot
from debates.services import set_aside, voting
from events.models import Attendee, Event, Phase, Side
from recaps.services import recap_publish
from tests.conftest import make_attendee, make_instant_voters
from tests.debates.sockets import in_thread, initial, open_socket, receive_until, session_for

HTMX = {"HTTP_HX_REQUEST": "true"}
HOST_LINK = set_aside.Actor(user_id=None, label="host link")


def make_voter(poll, side: str, *, network: str = "") -> Attendee:
    """Someone who joined five minutes ago and voted now: a person, not an instant voter."""
    attendee = make_attendee(Event.objects.get(pk=poll.event_id))
    Attendee.objects.filter(pk=attendee.pk).update(
        joined_at=timezone.now() - timedelta(minutes=5), network=network
    )
    voting.vote_cast(poll=poll, attendee=attendee, side=side)
    return attendee


def instant_key(network: str = door.EVERY_NETWORK) -> str:
    return door.group_key(door.INSTANT, network, timezone.now())


@pytest.fixture
def stuffed(event):
    """An open pre-vote: three people (two FOR, one AGAINST) and a script of six instant
    voters, all AGAINST, from one network."""
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    people = [make_voter(poll, Side.FOR), make_voter(poll, Side.FOR)]
    people.append(make_voter(poll, Side.AGAINST))
    script = make_instant_voters(poll, 6, side=Side.AGAINST)
    return {"event": event, "poll": poll, "people": people, "script": script}


def counts(poll) -> dict[str, int]:
    return poll_snapshot(poll_id=poll.pk).counts


# ---------------------------------------------------------------- the tally


@pytest.mark.django_db
def test_setting_a_script_aside_takes_its_votes_out_of_the_live_tally(stuffed):
    poll = stuffed["poll"]
    assert counts(poll) == {"for": 2, "against": 7, "undecided": 0}
    before = poll_snapshot(poll_id=poll.pk)

    record = set_aside.set_aside(event=stuffed["event"], key=instant_key(), actor=HOST_LINK)

    after = poll_snapshot(poll_id=poll.pk)
    assert after.counts == {"for": 2, "against": 1, "undecided": 0}
    assert after.set_aside == 6 and record.votes == 6
    assert after.attendees == 3  # set-aside attendees do not count as joined
    assert after.version > before.version
    # The votes are kept, only not counted.
    assert Vote.objects.filter(poll=poll).count() == 9
    assert set(Vote.objects.filter(counted=False).values_list("attendee_id", flat=True)) == {
        a.pk for a in stuffed["script"]
    }


@pytest.mark.django_db
def test_the_tally_message_leaves_the_votes_out_and_says_how_many(stuffed):
    poll = stuffed["poll"]
    set_aside.set_aside(event=stuffed["event"], key=instant_key(), actor=HOST_LINK)

    for full in (True, False):
        message = poll_snapshot(poll_id=poll.pk).message(full=full)
        assert message["counts"] == {"for": 2, "against": 1, "undecided": 0}
        assert message["total"] == 3
        assert message["set_aside"] == 6
    for _group, text, _except in realtime.tally_deliveries(poll.pk):  # what every screen is sent
        sent = json.loads(text)
        assert sent["counts"]["against"] == 1 and sent["set_aside"] == 6


@pytest.mark.django_db
def test_undo_counts_the_votes_again(stuffed):
    poll = stuffed["poll"]
    record = set_aside.set_aside(event=stuffed["event"], key=instant_key(), actor=HOST_LINK)
    version = poll_snapshot(poll_id=poll.pk).version

    set_aside.set_aside_undo(set_aside=record, actor=HOST_LINK)

    snapshot = poll_snapshot(poll_id=poll.pk)
    assert snapshot.counts == {"for": 2, "against": 7, "undecided": 0}
    assert snapshot.set_aside == 0 and snapshot.attendees == 9
    assert snapshot.version > version
    assert not Attendee.objects.filter(set_aside=True).exists()
    with pytest.raises(ValidationError) as refused:
        set_aside.set_aside_undo(set_aside=record, actor=HOST_LINK)
    assert refused.value.messages == [str(set_aside.SET_ASIDE_UNDONE_ALREADY)]


@pytest.mark.django_db
def test_a_later_vote_of_a_set_aside_attendee_is_kept_acknowledged_and_not_counted(stuffed):
    poll, bot = stuffed["poll"], stuffed["script"][0]
    set_aside.set_aside(event=stuffed["event"], key=instant_key(), actor=HOST_LINK)

    # Acknowledged like any vote (it is committed): vote_cast raises for a refusal only.
    [reason] = voting.votes_cast_batch(
        ballots=[voting.Ballot(poll.pk, bot.pk, bot.event_id, Side.FOR)]
    ).reasons
    assert reason is None
    late = make_attendee(stuffed["event"])
    Attendee.objects.filter(pk=late.pk).update(set_aside=True)  # as if in the group
    voting.vote_cast(poll=poll, attendee=late, side=Side.FOR)

    assert Vote.objects.get(poll=poll, attendee=bot).side == Side.FOR
    assert Vote.objects.get(poll=poll, attendee=late).counted is False
    assert counts(poll) == {"for": 2, "against": 1, "undecided": 0}


@pytest.mark.django_db
def test_each_affected_poll_is_announced_once_after_commit_not_once_per_vote(
    stuffed, monkeypatch, django_capture_on_commit_callbacks
):
    final = voting.poll_open(event=stuffed["event"], kind=PollKind.FINAL_VOTE)
    for bot in stuffed["script"]:
        voting.vote_cast(poll=final, attendee=bot, side=Side.FOR)
    announced = []
    monkeypatch.setattr(live, "tally_changed", announced.append)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        set_aside.set_aside(event=stuffed["event"], key=instant_key(), actor=HOST_LINK)
    assert announced == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert sorted(announced) == sorted([stuffed["poll"].pk, final.pk])


# ---------------------------------------------------------------- which groups


@pytest.mark.django_db
def test_one_persons_network_is_not_a_flagged_group_and_cannot_be_set_aside(stuffed):
    person = stuffed["people"][0]
    Attendee.objects.filter(pk=person.pk).update(network="home0000")
    with pytest.raises(ValidationError) as refused:
        set_aside.set_aside(
            event=stuffed["event"],
            key=door.group_key(door.NETWORK, "home0000", timezone.now()),
            actor=HOST_LINK,
        )
    assert refused.value.messages == [str(set_aside.SET_ASIDE_NOT_FLAGGED)]
    assert not SetAside.objects.exists()
    assert counts(stuffed["poll"])["for"] == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key", ["", "instant", "network:*:1", "instant:a b:1", "everyone:*:1", "instant:*:" + "9" * 13]
)
def test_a_malformed_key_names_no_group(stuffed, key):
    with pytest.raises(ValidationError) as refused:
        set_aside.set_aside(event=stuffed["event"], key=key, actor=HOST_LINK)
    assert refused.value.messages == [str(set_aside.SET_ASIDE_KEY_INVALID)]
    assert not Attendee.objects.filter(set_aside=True).exists()


@pytest.mark.django_db
def test_a_group_set_aside_already_is_refused_and_another_takes_only_flagged_newcomers(stuffed):
    event, poll = stuffed["event"], stuffed["poll"]
    set_aside.set_aside(event=event, key=instant_key(), actor=HOST_LINK)
    with pytest.raises(ValidationError) as refused:
        set_aside.set_aside(event=event, key=instant_key(), actor=HOST_LINK)
    assert refused.value.messages == [str(set_aside.SET_ASIDE_NOBODY)]

    # Two newcomers are not a flagged group of their own: the first group does not lend them
    # its flag (or a host could drop one chosen vote by adding it to a group set aside).
    few = make_instant_voters(poll, 2)
    with pytest.raises(ValidationError) as refused:
        set_aside.set_aside(event=event, key=instant_key(), actor=HOST_LINK)
    assert refused.value.messages == [str(set_aside.SET_ASIDE_NOT_FLAGGED)]
    newcomers = [*few, *make_instant_voters(poll, 3)]
    second = set_aside.set_aside(event=event, key=instant_key(), actor=HOST_LINK)
    assert set(second.attendees.values_list("pk", flat=True)) == {a.pk for a in newcomers}
    assert second.votes == 5


@pytest.mark.django_db
def test_the_key_reaches_no_one_who_joined_after_it(stuffed):
    key = door.group_key(door.INSTANT, door.EVERY_NETWORK, timezone.now() - timedelta(hours=1))
    with pytest.raises(ValidationError) as refused:
        set_aside.set_aside(event=stuffed["event"], key=key, actor=HOST_LINK)
    # An hour ago nobody had joined: no group, so nothing flagged.
    assert refused.value.messages == [str(set_aside.SET_ASIDE_NOT_FLAGGED)]


@pytest.mark.django_db
def test_the_instant_voters_of_a_venue_network_go_and_the_people_on_it_stay(event):
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    venue = "venue00000000000"
    people = [make_voter(poll, Side.FOR, network=venue) for _ in range(4)]
    make_instant_voters(poll, 5, network=venue, side=Side.AGAINST)

    set_aside.set_aside(event=event, key=instant_key(venue), actor=HOST_LINK)

    assert counts(poll) == {"for": 4, "against": 0, "undecided": 0}
    assert not Attendee.objects.filter(pk__in=[p.pk for p in people], set_aside=True).exists()


# ---------------------------------------------------------------- publication


@pytest.mark.django_db
def test_neither_setting_aside_nor_undo_once_the_recap_has_been_published(stuffed):
    event = stuffed["event"]
    record = set_aside.set_aside(event=event, key=instant_key(), actor=HOST_LINK)
    make_instant_voters(stuffed["poll"], 5)
    Event.objects.filter(pk=event.pk).update(phase=Phase.ENDED)
    recap_publish(event=event, publish=True)
    before = counts(stuffed["poll"])

    for attempt in (
        lambda: set_aside.set_aside_undo(set_aside=record, actor=HOST_LINK),
        lambda: set_aside.set_aside(event=event, key=instant_key(), actor=HOST_LINK),
    ):
        with pytest.raises(ValidationError) as refused:
            attempt()
        assert refused.value.messages == [str(set_aside.SET_ASIDE_PUBLISHED)]
    assert counts(stuffed["poll"]) == before
    assert SetAside.objects.get(pk=record.pk).undone_at is None

    # Taken down again, they still hold: a second publication must not differ by one group.
    recap_publish(event=event, publish=False)
    with pytest.raises(ValidationError) as refused:
        set_aside.set_aside_undo(set_aside=record, actor=HOST_LINK)
    assert refused.value.messages == [str(set_aside.SET_ASIDE_PUBLISHED)]
    assert SetAside.objects.get(pk=record.pk).undone_at is None


@pytest.mark.django_db
def test_the_console_refuses_undo_after_publication_with_the_reason(client, host_user, stuffed):
    event = stuffed["event"]
    record = set_aside.set_aside(event=event, key=instant_key(), actor=HOST_LINK)
    Event.objects.filter(pk=event.pk).update(phase=Phase.ENDED)
    recap_publish(event=event, publish=True)
    client.force_login(host_user)

    response = client.post(
        reverse("debates:console_command", args=[event.slug, "votes.set_aside_undo"]),
        {"set_aside": record.pk},
        **HTMX,
    )

    assert response.status_code == 400
    assert response.content.decode() == str(set_aside.SET_ASIDE_PUBLISHED)
    assert Attendee.objects.filter(set_aside=True).count() == 6


# ---------------------------------------------------------------- the log


@pytest.mark.django_db
def test_the_log_names_the_account_when_and_how_many(client, host_user, stuffed):
    client.force_login(host_user)
    event = stuffed["event"]
    started = timezone.now()

    response = client.post(
        reverse("debates:console_command", args=[event.slug, "votes.set_aside"]),
        {"group": instant_key()},
        **HTMX,
    )

    assert response.status_code == 200
    record = SetAside.objects.get(event=event)
    assert record.created_by == host_user and record.created_by_label == "hostess"
    assert record.votes == 6 and started <= record.created_at <= timezone.now()
    assert "6 instant voters from any network" in record.label
    # The console's door panel comes back with the log entry and its undo button.
    body = response.content.decode()
    assert f'data-set-aside="{record.pk}"' in body and "6 votes set aside by hostess" in body
    assert "votes.set_aside_undo" in body

    undo = client.post(
        reverse("debates:console_command", args=[event.slug, "votes.set_aside_undo"]),
        {"set_aside": record.pk},
        **HTMX,
    )
    assert undo.status_code == 200
    record.refresh_from_db()
    assert record.undone_at is not None and record.undone_by_label == "hostess"
    assert "Undone by hostess" in undo.content.decode()


@pytest.mark.django_db
def test_the_log_says_host_link_for_a_browser_that_came_in_through_it(stuffed):
    event = stuffed["event"]
    client = Client()
    client.get(reverse("debates:host_link", args=[event.slug, event.host_key]))

    response = client.post(
        reverse("debates:console_command", args=[event.slug, "votes.set_aside"]),
        {"group": instant_key()},
        **HTMX,
    )

    assert response.status_code == 200
    record = SetAside.objects.get(event=event)
    assert record.created_by is None and record.created_by_label == "host link"


@pytest.mark.django_db
def test_the_console_shows_the_set_aside_count_beside_the_tally(client, host_user, stuffed):
    set_aside.set_aside(event=stuffed["event"], key=instant_key(), actor=HOST_LINK)
    client.force_login(host_user)
    page = client.get(reverse("debates:console", args=[stuffed["event"].slug])).content.decode()
    assert "6 votes set aside by the host, not counted." in page
    assert "3 of 3 who joined have voted" in page


# ---------------------------------------------------------------- over the socket


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_over_the_socket_the_projector_hears_the_tally_without_the_script(event):
    def build():
        poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
        make_voter(poll, Side.FOR)
        make_instant_voters(poll, 5, side=Side.AGAINST)
        return poll

    poll = await in_thread(build)()
    projector = await open_socket(event.slug)
    got = await initial(projector)
    assert got["tally.updated"][0]["total"] == 6
    host = await open_socket(event.slug, await in_thread(session_for)(host_event=event))
    await initial(host)

    frame = {
        "type": "host.command",
        "command": "votes.set_aside",
        "ref": "s1",
        "data": {"group": instant_key()},
    }
    await host.send_to(text_data=json.dumps(frame))

    done = await receive_until(host, lambda m: m.get("ref") == "s1")
    assert done["type"] == "command.done"
    tally = await receive_until(
        projector, lambda m: m["type"] == "tally.updated" and m["set_aside"] == 5
    )
    assert tally["poll"] == poll.pk
    assert tally["counts"] == {"for": 1, "against": 0, "undecided": 0} and tally["total"] == 1
    record = await in_thread(SetAside.objects.get)(event=event)
    assert record.created_by_label == "host link" and record.votes == 5
    await projector.disconnect()
    await host.disconnect()


@pytest.mark.django_db
def test_a_key_cut_after_one_persons_join_cannot_set_that_vote_aside(event):
    """Red team: Alice joined from the venue and voted; later a burst of 25 came from the same
    network. A key whose time ends just after Alice's join names her alone: refused, so no
    host can drop one chosen vote (and the room cannot read it off the tally's change)."""
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    venue = "venue00000000000"
    alice = make_voter(poll, Side.AGAINST, network=venue)
    Attendee.objects.filter(pk=alice.pk).update(joined_at=timezone.now() - timedelta(minutes=10))
    minute = (timezone.now() - timedelta(minutes=5)).replace(second=0, microsecond=0)
    for n in range(25):
        late = make_voter(poll, Side.FOR, network=venue)
        Attendee.objects.filter(pk=late.pk).update(joined_at=minute + timedelta(seconds=n))
    alice.refresh_from_db()
    key = door.group_key(door.NETWORK, venue, alice.joined_at + timedelta(seconds=1))
    with pytest.raises(ValidationError) as refused:
        set_aside.set_aside(event=event, key=key, actor=HOST_LINK)
    assert refused.value.messages == [str(set_aside.SET_ASIDE_NOT_FLAGGED)]
    assert Vote.objects.filter(poll=poll, counted=False).count() == 0
    # The whole network's burst, Alice with it, is a group the host may set aside.
    whole = door.group_key(door.NETWORK, venue, timezone.now())
    assert set_aside.set_aside(event=event, key=whole, actor=HOST_LINK).votes == 26
