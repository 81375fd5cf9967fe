"""What the attendee's own page shows (issue 17): their evening as they lived it. Reads only;
the view lets nobody but the attendee themself see it."""

from __future__ import annotations

from dataclasses import dataclass

from debates.models import Point, PointStatus, PollKind, Vote
from debates.models_audience import Question
from debates.models_stage import MindChange
from events.models import Attendee


@dataclass(frozen=True)
class MyVotes:
    """The side the attendee took in the pre-vote and the final vote ("" if they did not)."""

    before: str
    after: str

    @property
    def moved(self) -> bool:
        return bool(self.before and self.after and self.before != self.after)


def my_votes(*, attendee: Attendee) -> MyVotes:
    """One query. Their own choice, counted or not: the page is their record, not the tally."""
    sides = dict(
        Vote.objects.filter(
            attendee=attendee, poll__kind__in=[PollKind.PRE_VOTE, PollKind.FINAL_VOTE]
        ).values_list("poll__kind", "side")
    )
    return MyVotes(
        before=sides.get(PollKind.PRE_VOTE, ""), after=sides.get(PollKind.FINAL_VOTE, "")
    )


def my_mind_change(*, attendee: Attendee) -> MindChange | None:
    """What they said changed their mind, if they switched and answered."""
    return MindChange.objects.select_related("point", "turn").filter(attendee=attendee).first()


def my_points(*, attendee: Attendee) -> list[Point]:
    """The points they added in their breakout rooms, as the room saw them (not hidden ones)."""
    return list(
        Point.objects.filter(author=attendee)
        .exclude(status=PointStatus.HIDDEN)
        .select_related("theme")
        .order_by("pk")
    )


def my_questions(*, attendee: Attendee) -> list[Question]:
    """The questions they asked the speakers (asked anonymously or not: this is their page)."""
    return list(Question.objects.filter(author=attendee).order_by("pk"))
