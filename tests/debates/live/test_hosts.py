"""Host rights that end while a host's socket is open: it leaves the hosts and is told so.

In-process sockets through the whole ASGI stack; the changes are made in a worker thread, as a
view or the admin makes them, so they are announced on commit like in production. The same over
real daphne processes is in tests/debates/live/test_hosts_servers.py.
"""

from __future__ import annotations

import asyncio

import pytest
from django.contrib.auth import get_user_model

from debates import host_rights, live, realtime
from debates.live import hosts as live_hosts
from debates.live import plugs, protocol
from debates.models import PollKind, ResultsVisibility
from debates.services import voting
from events.models import Event, Speaker, SpeakerRole
from events.services import host_key_rotate
from tests.conftest import make_attendee
from tests.debates.sockets import in_thread, initial, open_socket, receive, session_for
from tests.debates.test_console_socket import command, session_of_user

pytestmark = pytest.mark.django_db(transaction=True)  # async tests: asyncio_mode = "auto"

REVOKED = protocol.HOST_REVOKED
QUIET = 0.5  # seconds a socket is watched for a message that must not come


@pytest.fixture
def hidden(event):
    """The event with an open pre-vote whose results are hidden until it closes, and a voter."""
    poll = voting.poll_open(
        event=event, kind=PollKind.PRE_VOTE, results_visibility=ResultsVisibility.AFTER_CLOSE
    )
    return {"event": event, "poll": poll, "voter": make_attendee(event, "Vi")}


async def socket_of(event: Event, session_key: str):
    socket = await open_socket(event.slug, session_key)
    synced = (await initial(socket))["you.synced"][0]
    return socket, synced


async def host_link_socket(event: Event):
    return await socket_of(event, await in_thread(session_for)(host_event=event))


async def account_socket(event: Event, user):
    return await socket_of(event, await in_thread(session_of_user)(user))


async def next_of(socket, kind: str, timeout: float = 3) -> dict:
    """The next message of this type (others are skipped); fails if none comes in time."""
    while True:
        message = await receive(socket, timeout=timeout)
        if message["type"] == kind:
            return message


async def vote_and_read_tally(hidden: dict, listener) -> dict:
    """The voter votes over the socket; the tally `listener` gets that counts the vote."""
    voter = await open_socket(
        hidden["event"].slug, await in_thread(session_for)(attendee=hidden["voter"])
    )
    await initial(voter)
    await voter.send_json_to({"type": "vote.cast", "poll": hidden["poll"].pk, "side": "for"})
    await next_of(voter, "vote.acknowledged")
    await voter.disconnect()
    while True:
        tally = await next_of(listener, "tally.updated")
        if tally["total"] == 1:
            return tally


async def vote_and_read_tally_seen(listener) -> dict:
    """The tally with the vote someone already cast, as another listener gets it."""
    while True:
        tally = await next_of(listener, "tally.updated")
        if tally["total"] == 1:
            return tally


class Rechecks:
    """Counts the re-checks the announcements start in this process, and waits for them."""

    def __init__(self) -> None:
        self.finished: list[int] = []

    async def done(self, n: int = 1, timeout: float = 5) -> list[int]:
        """The events of the first `n` finished re-checks; fails if fewer finish in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.finished) < n:
            assert loop.time() < deadline, f"{len(self.finished)} of {n} re-checks finished"
            await asyncio.sleep(0.01)
        return self.finished[:n]


@pytest.fixture
def rechecks(monkeypatch) -> Rechecks:
    record = Rechecks()
    original = live_hosts.recheck

    async def spy(event_id, sockets):
        await original(event_id, sockets)
        record.finished.append(event_id)

    monkeypatch.setattr(live_hosts, "recheck", spy)
    return record


def hosts_here(event: Event) -> set:
    return live.members(live.hosts_group(event.pk))


# ---------------------------------------------------------------- the host link rotated


async def test_rotating_the_host_link_demotes_a_socket_that_came_in_through_the_old_one(hidden):
    event = hidden["event"]
    old, synced = await host_link_socket(event)
    assert synced["host"] is True

    await in_thread(host_key_rotate)(event=await in_thread(Event.objects.get)(pk=event.pk))

    assert await next_of(old, REVOKED) == {"type": REVOKED, "event": event.pk}
    assert hosts_here(event) == set()
    tally = await vote_and_read_tally(hidden, old)
    assert "counts" not in tally and "attendees" not in tally and tally["visible"] is False
    # Its commands are refused as a stranger's.
    await old.send_json_to(command("phase.set", {"phase": "opening"}))
    closed = await old.receive_output(timeout=3)
    assert closed == {"type": "websocket.close", "code": live.CLOSE_FORBIDDEN}
    await old.disconnect()


async def test_every_host_socket_of_the_event_is_rechecked_in_one_database_call(
    hidden, monkeypatch
):
    event = hidden["event"]
    calls = []

    def counting(event_id, holders):
        calls.append((event_id, len(holders)))
        return host_rights.still_hosting(event_id, holders)

    monkeypatch.setattr(plugs.plugged, "hosts", counting)
    first, _ = await host_link_socket(event)
    second, _ = await host_link_socket(event)

    await in_thread(host_key_rotate)(event=await in_thread(Event.objects.get)(pk=event.pk))

    for socket in (first, second):
        await next_of(socket, REVOKED)
        await socket.disconnect()
    assert calls == [(event.pk, 2)]


async def test_the_new_host_link_still_hosts_after_a_rotation(hidden):
    event = hidden["event"]
    old, _ = await host_link_socket(event)
    rotated = await in_thread(host_key_rotate)(
        event=await in_thread(Event.objects.get)(pk=event.pk)
    )
    await next_of(old, REVOKED)

    fresh, synced = await host_link_socket(rotated)
    assert synced["host"] is True
    tally = await vote_and_read_tally(hidden, fresh)
    assert tally["counts"] == {"for": 1, "against": 0, "undecided": 0}
    assert tally["attendees"] == 1
    await fresh.send_json_to(command("phase.set", {"phase": "opening"}, ref="go"))
    assert (await next_of(fresh, "command.done"))["ref"] == "go"
    await fresh.disconnect()
    await old.disconnect()


async def test_a_rotation_leaves_the_organisers_and_the_linked_hosts_sockets_hosting(
    hidden, rechecks, organiser, host_user
):
    event = hidden["event"]
    mine, _ = await account_socket(event, organiser)
    hers, _ = await account_socket(event, host_user)

    await in_thread(host_key_rotate)(event=await in_thread(Event.objects.get)(pk=event.pk))

    assert await rechecks.done() == [event.pk]
    assert await mine.receive_nothing(timeout=QUIET)
    assert await hers.receive_nothing(timeout=QUIET)
    assert len(hosts_here(event)) == 2
    assert (await vote_and_read_tally(hidden, mine))["counts"]["for"] == 1
    assert (await vote_and_read_tally_seen(hers))["counts"]["for"] == 1
    await mine.disconnect()
    await hers.disconnect()


# ---------------------------------------------------------------- accounts and speakers


async def test_deactivating_a_host_account_demotes_its_socket(
    hidden, rechecks, host_user, moderator_user
):
    event = hidden["event"]
    hers, synced = await account_socket(event, host_user)
    his, _ = await account_socket(event, moderator_user)
    assert synced["host"] is True

    def deactivate():
        user = get_user_model().objects.get(pk=host_user.pk)
        user.is_active = False
        user.save()  # as the admin saves: every field

    await in_thread(deactivate)()

    assert await rechecks.done() == [event.pk]
    assert (await next_of(hers, REVOKED))["event"] == event.pk
    assert await his.receive_nothing(timeout=QUIET)  # the moderator is not touched
    tally = await vote_and_read_tally(hidden, hers)
    assert "counts" not in tally
    await hers.disconnect()
    await his.disconnect()


async def test_unlinking_a_host_speaker_demotes_its_socket(hidden, host_user):
    event = hidden["event"]
    hers, _ = await account_socket(event, host_user)

    def unlink():
        speaker = Speaker.objects.get(event=event, user=host_user)
        speaker.user = None
        speaker.save()

    await in_thread(unlink)()

    await next_of(hers, REVOKED)
    assert "counts" not in await vote_and_read_tally(hidden, hers)
    await hers.disconnect()


async def test_deleting_a_moderator_speaker_demotes_its_socket(hidden, moderator_user):
    event = hidden["event"]
    his, _ = await account_socket(event, moderator_user)
    await in_thread(lambda: Speaker.objects.filter(role=SpeakerRole.MODERATOR).delete())()
    await next_of(his, REVOKED)
    assert hosts_here(event) == set()
    await his.disconnect()


async def test_an_organiser_replaced_on_the_event_loses_the_console(hidden, organiser):
    event = hidden["event"]
    mine, _ = await account_socket(event, organiser)

    def hand_over():
        other = get_user_model().objects.create_user("successor")
        moved = Event.objects.get(pk=event.pk)
        moved.organiser = other
        moved.save()

    await in_thread(hand_over)()
    await next_of(mine, REVOKED)
    await mine.disconnect()


async def test_a_superuser_who_is_no_longer_one_loses_the_console(hidden, stranger_user):
    event = hidden["event"]

    def promote(flag: bool):
        user = get_user_model().objects.get(pk=stranger_user.pk)
        user.is_superuser = flag
        user.save(update_fields=["is_superuser"])

    await in_thread(promote)(True)
    boss, synced = await account_socket(event, stranger_user)
    assert synced["host"] is True
    await in_thread(promote)(False)
    await next_of(boss, REVOKED)
    await boss.disconnect()


async def test_a_login_saves_the_account_without_disturbing_its_host_socket(
    hidden, rechecks, host_user, monkeypatch
):
    """Saves that cannot end host rights (last_login on every sign-in) are not announced."""
    event = hidden["event"]
    hers, _ = await account_socket(event, host_user)
    announced = []
    original = live_hosts.hosts_changed

    def record(**kwargs):
        announced.append(kwargs)
        original(**kwargs)

    monkeypatch.setattr(live_hosts, "hosts_changed", record)

    def sign_in():
        user = get_user_model().objects.get(pk=host_user.pk)
        user.save(update_fields=["last_login"])
        user.first_name = "Hal"
        user.save()  # a full save is announced, and the re-check keeps her

    await in_thread(sign_in)()
    assert await rechecks.done() == [event.pk]
    assert announced == [{"user_id": host_user.pk}]
    assert await hers.receive_nothing(timeout=QUIET)
    assert len(hosts_here(event)) == 1
    await hers.disconnect()


# ---------------------------------------------------------------- the checker and the message


def test_the_checker_reads_the_account_and_the_session_afresh(hidden, host_user, organiser):
    event = hidden["event"]
    link_session = session_for(host_event=event)
    holders = [
        (host_user.pk, session_of_user(host_user)),
        (organiser.pk, session_of_user(organiser)),
        (None, link_session),
        (None, None),
    ]
    assert host_rights.still_hosting(event.pk, holders) == [True, True, True, False]
    host_key_rotate(event=event)
    get_user_model().objects.filter(pk=host_user.pk).update(is_active=False)
    assert host_rights.still_hosting(event.pk, holders) == [False, True, False, False]
    assert host_rights.still_hosting(event.pk + 999, holders) == [False] * 4
    # The account comes from the session as it is now: a new password ends the others.
    organiser.set_password("a-new-password-1")
    organiser.save()
    assert host_rights.still_hosting(event.pk, holders[1:2]) == [False]


async def test_a_new_password_or_a_logout_ends_an_open_consoles_rights(hidden, rechecks, host_user):
    """Red team: the HTTP console refused a session whose password had changed, while its
    socket still got hidden counts and ran commands."""
    event = hidden["event"]
    hers, synced = await account_socket(event, host_user)
    assert synced["host"] is True

    def new_password():
        user = get_user_model().objects.get(pk=host_user.pk)
        user.set_password("another-password-2")
        user.save(update_fields=["password"])

    await in_thread(new_password)()
    assert await rechecks.done() == [event.pk]
    assert (await next_of(hers, REVOKED))["event"] == event.pk
    await hers.send_json_to(
        {"type": "host.command", "command": "phase.set", "ref": "c", "data": {"phase": "plenary"}}
    )
    closed = await hers.receive_output(timeout=3)
    while closed["type"] != "websocket.close":
        closed = await hers.receive_output(timeout=3)
    assert closed["code"] == live.CLOSE_FORBIDDEN
    assert (await Event.objects.aget(pk=event.pk)).phase != "plenary"


async def test_a_socket_connecting_while_the_link_rotates_is_not_left_a_host(hidden, monkeypatch):
    """Its rights are read just before the rotation commits: the re-check that follows finds
    it not yet registered, so connect reads it again and registers what it is now."""
    event = hidden["event"]
    original = realtime.connection_read
    reads = []

    def read_then_rotate(**kwargs):
        connection = original(**kwargs)
        if not reads:
            host_key_rotate(event=Event.objects.get(pk=event.pk))
        reads.append(connection.host)
        return connection

    monkeypatch.setattr(plugs.plugged, "connection", read_then_rotate)
    socket, synced = await host_link_socket(event)
    assert reads == [True, False]
    assert synced["host"] is False
    assert hosts_here(event) == set()
    assert "counts" not in await vote_and_read_tally(hidden, socket)
    await socket.disconnect()
