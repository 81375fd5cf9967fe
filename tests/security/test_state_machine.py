"""The poll state machine against a plain model: whatever order people join, vote, change their
minds, replay a vote, reconnect, and hosts close and reopen polls, set a script's votes aside
and undo it, and publish the recap, the tally equals the model.

Hypothesis drives debates.services (the code both transports call: vote_cast for HTTP, one
votes_cast_batch per socket writer batch) and debates.realtime.connection_read (what a socket reads
on every connect). The vote rate limit is lowered so that the limit is part of the game too.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from debates import door, realtime
from debates.models import Poll, PollKind, PollState, SetAside, Vote
from debates.selectors import ATTENDEE_SESSION_KEY, poll_snapshot
from debates.services import phases, reveal, set_aside, voting
from events.models import Attendee, Event, Phase
from events.services import attendee_join, event_create
from recaps.services import recap_publish
from tests.conftest import make_attendee

SIDES = ("for", "against", "undecided")
KINDS = (PollKind.PRE_VOTE, PollKind.FINAL_VOTE)
VISIBILITIES = ("live", "after_close", "after_reveal")
RATE_LIMIT = 4  # instead of 30: reachable in a few dozen steps
BURST_JOINS = 3  # instead of 20: a script of three joins in one minute is a burst
HOST = set_aside.Actor(user_id=None, label="host link")


class PollMachine(RuleBasedStateMachine):
    organiser = None  # set by the test

    attendees = Bundle("attendees")

    @initialize()
    def start(self) -> None:
        self.event = event_create(
            organiser=self.organiser,
            title="State machine",
            motion="Models keep us honest.",
            starts_at=timezone.now() + timedelta(hours=1),
        )
        self.stranger = make_attendee(
            event_create(
                organiser=self.organiser,
                title="Elsewhere",
                motion="Other rooms exist.",
                starts_at=timezone.now() + timedelta(hours=1),
            )
        )
        self.polls: dict[str, Poll] = {}
        self.state: dict[str, str] = dict.fromkeys(KINDS, PollState.DRAFT)
        self.votes: dict[tuple[str, int], str] = {}  # (kind, attendee id) -> side
        self.logged: Counter[int] = Counter()  # votes cast or changed, per attendee
        self.versions: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.last: tuple[str, Attendee, str] | None = None  # the last counted ballot
        self.scripts: list[tuple[str, set[int]]] = []  # (network, attendee ids)
        self.groups: list[tuple[int, set[int]]] = []  # set-asides: (id, attendee ids)
        self.undone: set[int] = set()
        self.aside: set[int] = set()  # attendees whose votes do not count
        self.visibility: dict[str, str] = dict.fromkeys(KINDS, "live")
        self.revealed = False  # the host revealed the final vote (debates.services.reveal)
        self.published = False
        # Most events open the pre-vote first thing.
        self.polls[PollKind.PRE_VOTE] = voting.poll_open(event=self.event, kind=PollKind.PRE_VOTE)
        self.state[PollKind.PRE_VOTE] = PollState.OPEN

    # ------------------------------------------------------------ the model's rule

    def expected(self, kind: str, attendee: Attendee, side: str) -> str | None:
        """What the rules say about one ballot, applying it to the model if it counts."""
        if side not in SIDES:
            return str(voting.VOTE_SIDE_UNKNOWN)
        if attendee.event_id != self.event.pk:
            # Someone of another event, naming this event's poll from their own session.
            return str(voting.VOTE_POLL_OTHER_EVENT)
        if self.state[kind] == PollState.DRAFT:
            return str(voting.VOTE_POLL_NOT_OPEN)
        if self.state[kind] == PollState.CLOSED:
            return str(voting.VOTE_POLL_CLOSED)
        if self.votes.get((kind, attendee.pk)) == side:
            return None  # the same again: nothing changes
        if self.logged[attendee.pk] >= RATE_LIMIT:
            event("a vote over the rate limit")
            return str(voting.VOTE_TOO_FAST)
        self.logged[attendee.pk] += 1
        self.votes[(kind, attendee.pk)] = side
        self.last = (kind, attendee, side)
        return None

    def poll_id(self, kind: str) -> int:
        """The poll's id; a draft that was never opened gets a row here so ballots can name it."""
        if kind not in self.polls:
            self.polls[kind] = Poll.objects.create(event=self.event, kind=kind)
        return self.polls[kind].pk

    def ballot(self, kind: str, attendee: Attendee, side: str) -> voting.Ballot:
        # The event is the one the voter joined: for a stranger, their own event.
        return voting.Ballot(
            poll_id=self.poll_id(kind),
            attendee_id=attendee.pk,
            event_id=attendee.event_id,
            side=side,
        )

    # ------------------------------------------------------------ people

    @rule(target=attendees, name=st.text(max_size=10))
    def join(self, name: str) -> Attendee:
        return attendee_join(event=self.event, display_name=name)

    @rule(attendee=attendees)
    def rejoin(self, attendee: Attendee) -> None:
        """A reload or a second scan of the QR code: the same person, not a new one."""
        before = Attendee.objects.filter(event=self.event).count()
        again = attendee_join(event=self.event, token=attendee.token)
        assert again.pk == attendee.pk
        assert Attendee.objects.filter(event=self.event).count() == before

    # ------------------------------------------------------------ votes

    @rule(attendee=attendees, kind=st.sampled_from(KINDS), side=st.sampled_from(SIDES))
    def vote_over_http(self, attendee: Attendee, kind: str, side: str) -> None:
        poll = Poll.objects.get(pk=self.poll_id(kind))
        reason = self.expected(kind, attendee, side)
        try:
            voting.vote_cast(poll=poll, attendee=attendee, side=side)
        except voting.VoteRefused as refused:
            assert refused.reason == reason
        else:
            assert reason is None

    @rule(
        ballots=st.lists(
            st.tuples(
                attendees,
                st.sampled_from(KINDS),
                st.sampled_from((*SIDES, "maybe")),
            ),
            min_size=1,
            max_size=8,
        ),
        stranger_at=st.none() | st.integers(min_value=0, max_value=8),
    )
    def vote_in_one_socket_batch(self, ballots, stranger_at) -> None:
        people = [(attendee, kind, side) for attendee, kind, side in ballots]
        if stranger_at is not None:
            people.insert(min(stranger_at, len(people)), (self.stranger, KINDS[0], "for"))
        sent = [self.ballot(kind, attendee, side) for attendee, kind, side in people]
        expected = [self.expected(kind, attendee, side) for attendee, kind, side in people]
        assert voting.votes_cast_batch(ballots=sent).reasons == expected

    @rule(
        attendee=attendees,
        kind=st.sampled_from(KINDS),
        sides=st.lists(st.sampled_from(SIDES), min_size=3, max_size=8),
    )
    def hammer_the_buttons(self, attendee: Attendee, kind: str, sides: list[str]) -> None:
        """One impatient person taps away: the socket writer gets their votes in one batch."""
        sent = [self.ballot(kind, attendee, side) for side in sides]
        expected = [self.expected(kind, attendee, side) for side in sides]
        assert voting.votes_cast_batch(ballots=sent).reasons == expected

    @precondition(lambda self: self.last is not None)
    @rule()
    def replay_the_last_vote(self) -> None:
        """A client resends a vote it never saw acknowledged: counted once, whatever happened."""
        kind, attendee, side = self.last
        reason = self.expected(kind, attendee, side)
        assert voting.votes_cast_batch(ballots=[self.ballot(kind, attendee, side)]).reasons == [
            reason
        ]

    # ------------------------------------------------------------ hosts

    @rule(kind=st.sampled_from(KINDS), visibility=st.sampled_from(VISIBILITIES))
    def open_or_reopen(self, kind: str, visibility: str) -> None:
        if visibility == "after_reveal" and kind != PollKind.FINAL_VOTE:
            with pytest.raises(ValidationError):
                voting.poll_open(event=self.event, kind=kind, results_visibility=visibility)
            return
        self.polls[kind] = voting.poll_open(
            event=self.event, kind=kind, results_visibility=visibility
        )
        self.state[kind] = PollState.OPEN
        self.visibility[kind] = visibility
        if kind == PollKind.FINAL_VOTE:
            self.revealed = False  # reopening ends the reveal

    @rule(show=st.booleans())
    def reveal_or_take_it_back(self, show: bool) -> None:
        if not show:
            reveal.reveal_hide(event=self.event)
            self.revealed = False
        elif self.state[PollKind.FINAL_VOTE] != PollState.CLOSED:
            with pytest.raises(ValidationError):
                reveal.reveal_show(event=self.event)
        else:
            reveal.reveal_show(event=self.event)
            self.revealed = True

    @rule(kind=st.sampled_from(KINDS), twice=st.booleans())
    def close(self, kind: str, twice: bool) -> None:
        if kind not in self.polls:
            return
        voting.poll_close(poll=self.polls[kind])
        first = poll_snapshot(poll_id=self.polls[kind].pk)
        if twice:
            voting.poll_close(poll=self.polls[kind])
            assert poll_snapshot(poll_id=self.polls[kind].pk) == first  # nothing moved
        if self.state[kind] == PollState.OPEN:
            self.state[kind] = PollState.CLOSED

    # ------------------------------------------------------------ sockets

    @rule(attendee=attendees)
    def reconnect(self, attendee: Attendee) -> None:
        """What a socket reads on (re)connect: the attendee's own votes and every tally."""
        session = {ATTENDEE_SESSION_KEY: {str(self.event.pk): attendee.token}}
        connection = realtime.connection_read(slug=self.event.slug, session=session, user=None)
        messages = [json.loads(text) for text in connection.messages]
        [you] = [m for m in messages if m["type"] == "you.synced"]
        mine = {
            str(self.polls[kind].pk): side
            for (kind, who), side in self.votes.items()
            if who == attendee.pk
        }
        assert you["votes"] == mine
        for tally in (m for m in messages if m["type"] == "tally.updated"):
            kind = next(k for k, p in self.polls.items() if p.pk == tally["poll"])
            assert tally["total"] == sum(
                1 for (k, who) in self.votes if k == kind and who not in self.aside
            )

    @rule(
        target=attendees,
        n=st.integers(min_value=BURST_JOINS, max_value=BURST_JOINS + 2),
        side=st.sampled_from(SIDES),
    )
    def a_script_arrives(self, n: int, side: str):
        """A burst from one network, in one minute of yesterday, every member voting at once."""
        network = f"script{len(self.scripts)}"
        minute = (timezone.now() - timedelta(days=1)).replace(second=0, microsecond=0)
        members = [
            Attendee.objects.create(
                event=self.event, token=secrets.token_urlsafe(16), network=network, joined_at=minute
            )
            for i in range(n)
        ]
        self.scripts.append((network, {m.pk for m in members}))
        kind = PollKind.PRE_VOTE
        sent = [self.ballot(kind, member, side) for member in members]
        expected = [self.expected(kind, member, side) for member in members]
        assert voting.votes_cast_batch(ballots=sent).reasons == expected
        return multiple(*members)

    @rule(name=st.text(max_size=10))
    def someone_joins_from_home(self, name: str) -> None:
        """One person on their own network: never a burst, so never a group to set aside."""
        home = Attendee.objects.create(
            event=self.event,
            token=secrets.token_urlsafe(16),
            network="home",
            display_name=name,
        )
        Attendee.objects.filter(pk=home.pk).update(network=f"home{home.pk}")
        with pytest.raises(ValidationError) as refused:
            set_aside.set_aside(event=self.event, key=self.key(f"home{home.pk}"), actor=HOST)
        expected = (
            set_aside.SET_ASIDE_PUBLISHED if self.published else set_aside.SET_ASIDE_NOT_FLAGGED
        )
        assert refused.value.messages == [str(expected)]

    def key(self, network: str) -> str:
        return door.group_key(door.NETWORK, network, timezone.now())

    @precondition(lambda self: self.scripts)
    @rule(pick=st.integers(min_value=0, max_value=9))
    def set_a_script_aside(self, pick: int) -> None:
        network, members = self.scripts[pick % len(self.scripts)]
        pending = members - self.aside
        if self.published:
            reason = set_aside.SET_ASIDE_PUBLISHED
        elif not pending:
            reason = set_aside.SET_ASIDE_NOBODY
        else:
            reason = None
        try:
            record = set_aside.set_aside(event=self.event, key=self.key(network), actor=HOST)
        except ValidationError as refused:
            assert refused.messages == [str(reason)]
            return
        assert reason is None
        event("a script set aside")
        assert record.votes == sum(1 for (_k, who) in self.votes if who in pending)
        self.aside |= pending
        self.groups.append((record.pk, pending))

    @precondition(lambda self: self.groups)
    @rule(pick=st.integers(min_value=0, max_value=9))
    def undo_a_set_aside(self, pick: int) -> None:
        pk, members = self.groups[pick % len(self.groups)]
        if self.published:
            reason = set_aside.SET_ASIDE_PUBLISHED
        elif pk in self.undone:
            reason = set_aside.SET_ASIDE_UNDONE_ALREADY
        else:
            reason = None
        try:
            set_aside.set_aside_undo(set_aside=SetAside.objects.get(pk=pk), actor=HOST)
        except ValidationError as refused:
            assert refused.messages == [str(reason)]
            return
        assert reason is None
        event("a set-aside undone")
        self.undone.add(pk)
        self.aside -= members

    @rule(publish=st.booleans())
    def publish_or_take_down_the_recap(self, publish: bool) -> None:
        if publish:
            phases.phase_set(event=self.event, phase=Phase.ENDED)
        recap_publish(event=self.event, publish=publish)
        # Once published, always: taking the recap down does not unfreeze the set-asides.
        self.published = self.published or publish

    @rule(attendee=consumes(attendees))
    def leave(self, attendee: Attendee) -> None:
        """Someone closes the tab: their votes stay counted (and they may not come back here)."""

    @rule(target=attendees, n=st.integers(min_value=2, max_value=4))
    def a_group_arrives(self, n: int):
        return multiple(*(attendee_join(event=self.event) for _ in range(n)))

    # ------------------------------------------------------------ what must always hold

    @invariant()
    def the_tally_equals_the_model(self) -> None:
        if not hasattr(self, "event"):
            return
        for kind, poll in self.polls.items():
            snapshot = poll_snapshot(poll_id=poll.pk)
            model = Counter(
                side for (k, who), side in self.votes.items() if k == kind and who not in self.aside
            )
            assert snapshot.counts == {side: model[side] for side in SIDES}
            assert snapshot.set_aside == sum(
                1 for (k, who) in self.votes if k == kind and who in self.aside
            )
            assert snapshot.state == self.state[kind]
            # The room sees a result live, after the close, or only once it is revealed.
            visibility = self.visibility[kind]
            assert snapshot.visible_to_attendees == (
                self.revealed
                if visibility == "after_reveal"
                else snapshot.state == PollState.CLOSED or visibility == "live"
            )
            # Versions only go up, so a client keeping the highest one never goes back.
            assert snapshot.version >= self.versions[kind]
            self.versions[kind] = snapshot.version
        assert Vote.objects.filter(poll__event=self.event).count() == len(self.votes)
        # A set-aside keeps the votes: only the flags move, and they agree with the model.
        assert (
            set(
                Attendee.objects.filter(event=self.event, set_aside=True).values_list(
                    "pk", flat=True
                )
            )
            == self.aside
        )
        assert set(
            Vote.objects.filter(poll__event=self.event, counted=False).values_list(
                "attendee_id", flat=True
            )
        ) == {who for (_k, who) in self.votes if who in self.aside}
        assert not Vote.objects.filter(attendee=self.stranger).exists()


@pytest.mark.slow
@pytest.mark.django_db
def test_the_tally_always_equals_a_plain_model(organiser, monkeypatch):
    monkeypatch.setattr(voting, "VOTE_RATE_LIMIT", RATE_LIMIT)
    monkeypatch.setattr(door, "BURST_JOINS", BURST_JOINS)
    PollMachine.organiser = organiser
    run_state_machine_as_test(
        PollMachine,
        settings=settings(
            max_examples=60,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    assert Event.objects.filter(title="State machine").exists()
