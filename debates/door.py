"""Reads for the console's door panel: who is coming in, how fast, and from where.

A red team once joined and voted 1,137 times in a minute from one address. Two signs tell a
script from a crowd, and the panel shows both:

- A burst: BURST_JOINS or more joins from one network (Attendee.network, a keyed hash of the
  address) in one clock minute. A venue's Wi-Fi sends a whole hall through one address, and a
  hall scanning the QR code at once easily makes 100 joins a minute, so a burst alone is a
  question, not an answer. 20 a minute is one join every three seconds, sustained: more than
  a household or a small office ever makes, so below it the panel stays quiet.
- Instant voters: people whose first vote came less than INSTANT_VOTE (1 s) after they joined.
  A person is sent to the event page, waits for it to load and reads the motion before tapping;
  a script posts its vote straight after the join. INSTANT_FLAG (5) of them, in one network or
  over all, is flagged: one fast thumb is not a pattern, and a group of five or more is also
  the smallest group whose votes may be told apart in a published figure (SECURITY.md).

So a venue shows up as a burst with no instant voters, a script as a burst of instant voters,
and the host can set aside just the instant voters of a network and keep the venue.

A group the host can set aside is named by a key, "network:<hash>:<until>" (everyone who joined
from that network before `until`, seconds since the epoch) or "instant:<hash or *>:<until>" (the
instant voters among them). The server recomputes the group from the key (group_for_key), so a
browser names a rule, never a list of people. Every read here is a handful of aggregate queries,
whatever the size of the event.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count, F, Max, Min, Q, QuerySet
from django.db.models.functions import TruncMinute
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from debates.models import SetAside, Vote
from events.models import Attendee

BURST_JOINS = 20  # joins from one network in one clock minute
INSTANT_VOTE = timedelta(seconds=1)  # first vote this soon after joining: an instant voter
INSTANT_FLAG = 5  # instant voters that make a group
MINUTES_SHOWN = 10  # joins per minute over the last ten minutes
NETWORK_LISTED = 3  # a network shows in the panel from this many joins
NETWORKS_SHOWN = 10

NETWORK = "network"
INSTANT = "instant"
EVERY_NETWORK = "*"
_KEY = re.compile(r"^(network|instant):([A-Za-z0-9_-]{1,16}|\*):(\d{1,12})$")


def group_key(kind: str, network: str, until: datetime) -> str:
    # Rounded up: the key's group includes everyone the panel showed (and group_for_key caps
    # it at the moment of the action).
    return f"{kind}:{network}:{math.ceil(until.timestamp())}"


def _tag(network: str) -> str:
    """A short name for a network on screen (its hash is no secret to the hosts: it is not
    the address, and an address cannot be worked back from it without the server's key)."""
    return network[:6]


@dataclass(frozen=True)
class MinuteJoins:
    minute: datetime
    joins: int


@dataclass(frozen=True)
class NetworkRow:
    network: str
    joins: int
    first: datetime
    last: datetime
    peak: int  # most joins in one clock minute (0 when below BURST_JOINS)
    instant: int  # instant voters, set aside or not
    instant_pending: int  # instant voters not set aside yet
    aside: int  # members set aside already
    until: datetime

    @property
    def tag(self) -> str:
        return _tag(self.network)

    @property
    def burst(self) -> bool:
        return self.peak >= BURST_JOINS

    @property
    def instant_flagged(self) -> bool:
        return self.instant >= INSTANT_FLAG

    @property
    def flagged(self) -> bool:
        return self.burst or self.instant_flagged

    @property
    def pending(self) -> int:
        return self.joins - self.aside

    @property
    def network_key(self) -> str:
        return group_key(NETWORK, self.network, self.until)

    @property
    def instant_key(self) -> str:
        return group_key(INSTANT, self.network, self.until)


@dataclass(frozen=True)
class DoorView:
    minutes: tuple[MinuteJoins, ...]  # oldest first, MINUTES_SHOWN of them, empty ones too
    busiest_minute: int
    networks: tuple[NetworkRow, ...]  # flagged first, then the busiest
    instant: int  # instant voters over every network
    instant_pending: int
    set_asides: tuple[SetAside, ...]  # the log, newest first
    until: datetime

    @property
    def instant_flagged(self) -> bool:
        return self.instant >= INSTANT_FLAG

    @property
    def instant_key(self) -> str:
        return group_key(INSTANT, EVERY_NETWORK, self.until)

    @property
    def flagged(self) -> bool:
        return self.instant_flagged or any(row.flagged for row in self.networks)


def _instant_votes(event_id: int) -> QuerySet[Vote]:
    """Votes cast less than INSTANT_VOTE after their voter joined. A vote's cast_at is its
    first cast, so an attendee with any such vote is an instant voter."""
    return Vote.objects.filter(
        poll__event_id=event_id, cast_at__lt=F("attendee__joined_at") + INSTANT_VOTE
    )


def _bursts(event_id: int, networks: list[str] | None = None) -> dict[str, int]:
    """The busiest minute of each network that reached BURST_JOINS in one minute."""
    joins = Attendee.objects.filter(event_id=event_id).exclude(network="")
    if networks is not None:
        joins = joins.filter(network__in=networks)
    rows = (
        joins.annotate(minute=TruncMinute("joined_at"))
        .values("network", "minute")
        .annotate(n=Count("pk"))
        .filter(n__gte=BURST_JOINS)
        .values_list("network", "n")
    )
    peaks: dict[str, int] = {}
    for network, n in rows:
        peaks[network] = max(n, peaks.get(network, 0))
    return peaks


def set_aside_log(*, event_id: int) -> list[SetAside]:
    """Every set-aside of the event, newest first: the log the console and summary show."""
    return list(SetAside.objects.filter(event_id=event_id).order_by("-created_at", "-pk"))


def door_view(*, event_id: int, now: datetime | None = None) -> DoorView:
    """The door panel. Five queries: joins per minute, networks, bursts, instant voters, log."""
    now = now or timezone.now()
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=MINUTES_SHOWN - 1)
    per_minute = dict(
        Attendee.objects.filter(event_id=event_id, joined_at__gte=start)
        .annotate(minute=TruncMinute("joined_at"))
        .values("minute")
        .annotate(n=Count("pk"))
        .values_list("minute", "n")
    )
    # Aware datetimes are equal (and hash alike) for the same instant, whatever their zone.
    minutes = tuple(
        MinuteJoins(minute=at, joins=per_minute.get(at, 0))
        for at in (start + timedelta(minutes=i) for i in range(MINUTES_SHOWN))
    )
    networks = list(
        Attendee.objects.filter(event_id=event_id)
        .exclude(network="")
        .values("network")
        .annotate(
            joins=Count("pk"),
            first=Min("joined_at"),
            last=Max("joined_at"),
            aside=Count("pk", filter=Q(set_aside=True)),
        )
        .filter(joins__gte=NETWORK_LISTED)
        .values_list("network", "joins", "first", "last", "aside")
    )
    peaks = _bursts(event_id)
    instant = {
        network: (n, pending)
        for network, n, pending in _instant_votes(event_id)
        .values("attendee__network")
        .annotate(
            n=Count("attendee", distinct=True),
            pending=Count("attendee", distinct=True, filter=Q(attendee__set_aside=False)),
        )
        .values_list("attendee__network", "n", "pending")
    }
    rows = [
        NetworkRow(
            network=network,
            joins=joins,
            first=first,
            last=last,
            peak=peaks.get(network, 0),
            instant=instant.get(network, (0, 0))[0],
            instant_pending=instant.get(network, (0, 0))[1],
            aside=aside,
            until=now,
        )
        for network, joins, first, last, aside in networks
    ]
    rows.sort(key=lambda row: (not row.flagged, -row.joins, row.network))
    return DoorView(
        minutes=minutes,
        busiest_minute=max((m.joins for m in minutes), default=0),
        networks=tuple(rows[:NETWORKS_SHOWN]),
        instant=sum(n for n, _ in instant.values()),
        instant_pending=sum(pending for _, pending in instant.values()),
        set_asides=tuple(set_aside_log(event_id=event_id)),
        until=now,
    )


# ---------------------------------------------------------------- a group, from its key


@dataclass(frozen=True)
class Group:
    """A group named by a key, as the server finds it now."""

    kind: str
    network: str
    until: datetime
    members: tuple[int, ...]  # attendee ids, those set aside already included
    pending: tuple[int, ...]  # attendee ids not set aside yet
    flagged: bool

    @property
    def label(self) -> str:
        at = timezone.localtime(self.until).strftime("%H:%M")
        if self.kind == NETWORK:
            return str(
                _("%(n)s joins from network %(tag)s until %(at)s")
                % {"n": len(self.members), "tag": _tag(self.network), "at": at}
            )
        if self.network == EVERY_NETWORK:
            return str(
                _("%(n)s instant voters from any network until %(at)s")
                % {"n": len(self.members), "at": at}
            )
        return str(
            _("%(n)s instant voters from network %(tag)s until %(at)s")
            % {"n": len(self.members), "tag": _tag(self.network), "at": at}
        )


def group_for_key(*, event_id: int, key: str, now: datetime | None = None) -> Group | None:
    """The group a key names, recomputed from the database; None if the key is malformed.

    `until` is capped at now: a key cannot reach people who have not joined yet. At most
    three queries.
    """
    match = _KEY.match(key or "")
    if match is None:
        return None
    kind, network, seconds = match.groups()
    if kind == NETWORK and network == EVERY_NETWORK:
        return None
    now = now or timezone.now()
    try:
        until = min(datetime.fromtimestamp(int(seconds), tz=UTC), now)
    except (OverflowError, OSError, ValueError):
        return None
    people = Attendee.objects.filter(event_id=event_id, joined_at__lt=until)
    instant = _instant_votes(event_id).filter(attendee__joined_at__lt=until)
    if network != EVERY_NETWORK:
        people = people.filter(network=network)
        instant = instant.filter(attendee__network=network)
    instant_rows = set(instant.values_list("attendee_id", "attendee__set_aside"))
    instant_pending = sum(1 for _pk, aside in instant_rows if not aside)
    # The flag is earned by the people who would be set aside NOW, up to `until`: a key cut
    # just after one person's join, or a group that adds one person to one set aside already,
    # must not set aside one chosen vote (red team, issue 11).
    flagged = instant_pending >= INSTANT_FLAG
    if kind == NETWORK:
        joins = list(people.values_list("pk", "set_aside", "joined_at"))
        rows = [(pk, aside) for pk, aside, _at in joins]
        minutes = Counter(
            at.replace(second=0, microsecond=0) for _pk, aside, at in joins if not aside
        )
        flagged = flagged or max(minutes.values(), default=0) >= BURST_JOINS
    else:
        rows = list(instant_rows)
    return Group(
        kind=kind,
        network=network,
        until=until,
        members=tuple(sorted(pk for pk, _ in rows)),
        pending=tuple(sorted(pk for pk, aside in rows if not aside)),
        flagged=flagged,
    )
