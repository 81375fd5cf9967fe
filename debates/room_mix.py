"""A breakout room's balance of pre-vote sides, as the host may see it.

Per-room counts of pre-votes ("For 3, Against 2") tell a host who moves one person between rooms
that person's pre-vote from how the counts change, and a room of one shows it outright. So the
console shows only a balance frozen when the round starts (round_start), in words, and none at
all for a room of fewer than MIN_GROUP people: moving people never changes it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

from debates.models import MIN_GROUP
from events.models import Side

MIXED = "mixed"
ONE_SIDED = "one_sided"
TOO_SMALL = ""  # fewer than MIN_GROUP members at the start: no balance is shown

MIX_LABELS = {
    MIXED: _("Mixed ✓ (at the start)"),
    ONE_SIDED: _("One side only (at the start)"),
    TOO_SMALL: _("Too small to show the balance"),
}


def room_mix(sides: Iterable[str]) -> str:
    """The balance of the pre-vote sides dealt into one room: mixed when it holds FOR and
    AGAINST, one-sided otherwise, and nothing for fewer than MIN_GROUP people."""
    sides = list(sides)
    if len(sides) < MIN_GROUP:
        return TOO_SMALL
    return MIXED if Side.FOR in sides and Side.AGAINST in sides else ONE_SIDED
