"""The reveal: after the final vote closes, the host shows the result to the whole room at once.

Revealing marks the final poll (Poll.revealed_at) and bumps its version, so a final vote kept
"Only at the reveal" shows its counts to the room from that version on (debates.selectors
.PollSnapshot.visible_to_attendees), and the "reveal" snapshot kind (debates.realtime_stage)
sends every screen the result panel: both votes, the Intelligence Squared winner, the verdict,
the swing and who changed their mind (rendered by the recap, recaps.reveal, with its
small-group rules). Reopening the final vote ends the reveal (debates.services.voting).
"""

from __future__ import annotations

from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from debates import live
from debates.models import Poll, PollKind, PollState
from events.models import Event

REVEAL_NO_FINAL = _("There is no final vote to reveal yet.")
REVEAL_NOT_CLOSED = _("Close the final vote first: the reveal shows its result.")


def _announce(poll: Poll) -> None:
    transaction.on_commit(partial(live.tally_changed, poll.pk))
    transaction.on_commit(partial(live.changed, "reveal", poll.event_id))


@transaction.atomic
def reveal_show(*, event: Event) -> Poll:
    """Reveals the closed final vote to the room. Revealing twice changes nothing."""
    poll = Poll.objects.select_for_update().filter(event=event, kind=PollKind.FINAL_VOTE).first()
    if poll is None:
        raise ValidationError(REVEAL_NO_FINAL, code="no_final_vote")
    if poll.state != PollState.CLOSED:
        raise ValidationError(REVEAL_NOT_CLOSED, code="final_vote_open")
    if poll.revealed_at is None:
        poll.revealed_at = timezone.now()
        poll.version += 1
        poll.save(update_fields=["revealed_at", "version"])
        _announce(poll)
    return poll


@transaction.atomic
def reveal_hide(*, event: Event) -> Poll | None:
    """Takes the result off the screens again (pressed by mistake): a final vote kept for the
    reveal is hidden from the room again."""
    poll = Poll.objects.select_for_update().filter(event=event, kind=PollKind.FINAL_VOTE).first()
    if poll is not None and poll.revealed_at is not None:
        poll.revealed_at = None
        poll.version += 1
        poll.save(update_fields=["revealed_at", "version"])
        _announce(poll)
    return poll
