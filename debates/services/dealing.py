"""How a breakout round deals people into rooms: how many rooms, who goes where. Pure
arithmetic on ids and sides (no database), so properties hold for any crowd (tests/debates/
services/test_dealing.py); debates.services.rounds applies it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from debates.room_mix import NOT_VOTED
from events.models import Side

MAX_ROOMS = 50
MIN_ROOM_SIZE = 2

# Those who never pre-voted are dealt last, evenly like a side of their own (debates.room_mix).
_SIDE_DEAL_ORDER = (Side.FOR, Side.AGAINST, Side.UNDECIDED, NOT_VOTED)
# The console's suggested number of rooms aims at rooms of about this many people.
ROOM_SIZE_SUGGESTED = 8
# Mixing rooms by pre-vote side needs pre-votes: with fewer than this share of the people
# pre-voting, the rooms are filled at random and the console says why.
MIX_PRE_VOTE_SHARE = 0.25


def room_count(*, people: int, rooms: int) -> int:
    """How many rooms a round deals `people` into when `rooms` were asked for: fewer if need
    be, so nobody is alone: no room holds fewer than MIN_ROOM_SIZE (the deals keep room sizes
    within one of each other, so the smallest holds people // count). One person makes one
    room; with nobody there yet, the rooms asked for open empty, for those who arrive.
    """
    if people == 0:
        return rooms
    return max(1, min(rooms, people // MIN_ROOM_SIZE))


def rooms_suggested(*, people: int) -> int:
    """The console's suggestion: rooms of about ROOM_SIZE_SUGGESTED (40 people: 5 rooms)."""
    nearest = (people + ROOM_SIZE_SUGGESTED // 2) // ROOM_SIZE_SUGGESTED
    return room_count(people=people, rooms=min(MAX_ROOMS, max(1, nearest)))


def too_few_pre_votes(sides: Mapping[int, str]) -> bool:
    """Whether so few of these people pre-voted that mixing rooms by side means nothing."""
    voted = sum(1 for side in sides.values() if side != NOT_VOTED)
    return voted < max(1, len(sides) * MIX_PRE_VOTE_SHARE)


def rooms_deal_balanced(
    *, sides: Mapping[int, str], room_count: int, rng: random.Random
) -> list[list[int]]:
    """Deals attendees into rooms so each room mixes the sides as evenly as possible.

    Each side is dealt round-robin over all rooms, starting at the currently smallest ones.
    So every room gets floor or ceil of (side size / rooms) of each side, and since the
    remainder always goes to the smallest rooms, room sizes never differ by more than one.
    Ties between equal rooms are broken at random, so room 1 is not always the biggest.
    """
    rooms: list[list[int]] = [[] for _ in range(room_count)]
    tiebreak = list(range(room_count))
    rng.shuffle(tiebreak)
    for side in _SIDE_DEAL_ORDER:
        members = sorted(attendee for attendee, s in sides.items() if s == side)
        rng.shuffle(members)
        order = sorted(range(room_count), key=lambda i: (len(rooms[i]), tiebreak[i]))
        for n, attendee in enumerate(members):
            rooms[order[n % room_count]].append(attendee)
    return rooms


def rooms_deal_random(
    *, attendee_ids: Sequence[int], room_count: int, rng: random.Random
) -> list[list[int]]:
    shuffled = list(attendee_ids)
    rng.shuffle(shuffled)
    return [shuffled[i::room_count] for i in range(room_count)]
