"""A motion's history across a series (issue 17): each published event's result, swing and
turnout side by side, so organisers can say how opinion on a motion moved over a year.

Reads only. Every figure is the event's own published recap figure (recaps.selectors.
event_recap), so the small-group rules of recaps.disclosure hold here as on each recap: a
figure withheld there is withheld here, with the same reason."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from events.models import Event, Series
from recaps.figures import PollTally, Turnout, Verdict
from recaps.selectors import event_recap


@dataclass(frozen=True)
class Sitting:
    """One event's figures for the motion."""

    event: Event
    pre: PollTally | None  # None: no pre-vote, or withheld (see `why`)
    final: PollTally | None
    swing: Decimal | None  # FOR share, final minus pre, in percentage points
    verdict: Verdict | None
    turnout: Turnout
    why: tuple[str, ...]  # the recap's reasons for what is left out


@dataclass(frozen=True)
class MotionHistory:
    motion: str
    sittings: tuple[Sitting, ...]  # oldest first

    @property
    def final_for_shares(self) -> list[Decimal]:
        """The FOR share of each final vote the recaps show, oldest first."""
        return [s.final.sides[0].percent for s in self.sittings if s.final]


def motion_key(motion: str) -> str:
    """The same motion however it was capitalised, spaced or punctuated at the end."""
    return " ".join(motion.split()).rstrip(".!?").casefold()


def series_history(series: Series) -> list[MotionHistory]:
    """The series' motions, each with its published events, oldest first. The motion debated
    at the most events comes first. About a dozen queries per event (its recap)."""
    events = Event.objects.filter(series=series, recap_published=True).order_by("starts_at", "pk")
    groups: dict[str, list[Event]] = {}
    for event in events:
        groups.setdefault(motion_key(event.motion), []).append(event)
    histories = []
    for group in groups.values():
        sittings = []
        for event in group:
            recap = event_recap(event)
            sittings.append(
                Sitting(
                    event=event,
                    pre=recap.result.pre,
                    final=recap.result.final,
                    swing=recap.result.swing,
                    verdict=recap.result.verdict,
                    turnout=recap.turnout,
                    why=tuple(recap.result.why.values()),
                )
            )
        # The latest wording names the motion.
        histories.append(MotionHistory(motion=group[-1].motion, sittings=tuple(sittings)))
    histories.sort(key=lambda h: (-len(h.sittings), h.motion.casefold()))
    return histories
