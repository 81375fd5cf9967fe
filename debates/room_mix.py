"""A breakout room's balance of pre-vote sides, as the host may see it.

Per-room counts of pre-votes ("For 3, Against 2") tell a host who moves one person between rooms
that person's pre-vote from how the counts change, and a room of one shows it outright. So the
console shows only a balance frozen when the round starts (round_start), in words, and none at
all for a room of fewer than MIN_GROUP people: moving people never changes it.

Someone who never pre-voted is not "undecided" (they took no side, not the middle one): they
are left out of the balance, and a room where fewer than MIN_GROUP people pre-voted says so
instead of calling itself one-sided.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

from debates.models import MIN_GROUP
from events.models import Side

# What debates.selectors.pre_vote_sides gives someone who did not pre-vote: no side at all.
NOT_VOTED = ""

MIXED = "mixed"
ONE_SIDED = "one_sided"
TOO_SMALL = ""  # fewer than MIN_GROUP members at the start: no balance is shown
FEW_VOTES = "few_votes"  # MIN_GROUP members or more, but fewer of them pre-voted

MIX_LABELS = {
    MIXED: _("Mixed ✓ (at the start)"),
    ONE_SIDED: _("One side only (at the start)"),
    TOO_SMALL: _("Too small to show the balance"),
    FEW_VOTES: _("Too few pre-votes to show the balance"),
}


def room_mix(sides: Iterable[str]) -> str:
    """The balance of the pre-vote sides dealt into one room: mixed when it holds FOR and
    AGAINST, one-sided otherwise, and nothing for fewer than MIN_GROUP people, or for fewer
    than MIN_GROUP who pre-voted (NOT_VOTED is no side)."""
    sides = list(sides)
    if len(sides) < MIN_GROUP:
        return TOO_SMALL
    voted = [side for side in sides if side != NOT_VOTED]
    if len(voted) < MIN_GROUP:
        return FEW_VOTES
    return MIXED if Side.FOR in voted and Side.AGAINST in voted else ONE_SIDED
