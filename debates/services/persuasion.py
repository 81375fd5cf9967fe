"""What changed my mind: an attendee whose final vote differs from their pre-vote is asked
once, optionally, what moved them: one highlighted point, or one speaker's turn.

The answer is stored without a time anyone sees and counted in the recap only where at least
MIN_GROUP switchers named the same thing (recaps.stage), so no answer points at a person.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from debates.models import MindChange, Point, PollState
from debates.stage import final_poll, is_switcher, persuasion_points, persuasion_turns
from events.models import Attendee
from events.models import Turn as PlannedTurn

MIND_NOT_YET = _("You can say what changed your mind once the final vote has closed.")
MIND_NOT_SWITCHER = _("Only people whose final vote differs from their pre-vote are asked this.")
MIND_ALREADY = _("You have already answered. Thank you.")
MIND_CHOICE_UNKNOWN = _("That is not one of the points or turns on offer. Reload the page.")


@transaction.atomic
def mind_change_answer(
    *, attendee: Attendee, point: Point | None = None, turn: PlannedTurn | None = None
) -> MindChange:
    """Records the answer (a point, a turn, or neither: the attendee skipped). Once per
    attendee; raises ValidationError with the reason otherwise."""
    if point is not None and turn is not None:
        raise ValidationError(MIND_CHOICE_UNKNOWN, code="two_choices")
    poll = final_poll(event_id=attendee.event_id)
    if poll is None or poll.state != PollState.CLOSED:
        raise ValidationError(MIND_NOT_YET, code="not_yet")
    if not is_switcher(attendee=attendee):
        raise ValidationError(MIND_NOT_SWITCHER, code="not_switcher")
    if (
        point is not None
        and not persuasion_points(event_id=attendee.event_id).filter(pk=point.pk).exists()
    ):
        raise ValidationError(MIND_CHOICE_UNKNOWN, code="point_unknown")
    if (
        turn is not None
        and not persuasion_turns(event_id=attendee.event_id).filter(pk=turn.pk).exists()
    ):
        raise ValidationError(MIND_CHOICE_UNKNOWN, code="turn_unknown")
    try:
        with transaction.atomic():
            return MindChange.objects.create(
                event_id=attendee.event_id, attendee=attendee, point=point, turn=turn
            )
    except IntegrityError:
        raise ValidationError(MIND_ALREADY, code="already") from None
