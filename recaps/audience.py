"""The audience's part of the recap (issue 15): the answered questions, when the organiser chose
to list them, and the reactions per speaker's turn. One object behind the summary, the public
recap and the Markdown export, as recaps.selectors.event_recap is for the rest.

Small groups (recaps.disclosure): a question's upvote count shows only from MIN_GROUP upvotes
(else "fewer than 5"); a reaction kind's total in a window shows only when at least MIN_GROUP
distinct people tapped it within one time bucket of the window (ReactionCount.people, a lower
bound of the people behind the taps), so no figure stands for one to four people.

The seam to the speakers' clock: `reaction_windows(event)` names the time windows the totals are
given for. Until turns exist it is one window, the whole debate; with turns it returns one
(label, start, end) per turn, and debates.selectors_audience.reactions_per_window does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from debates import selectors_audience
from debates.models_audience import ReactionKind
from debates.stage import turns_of
from events.models import Event
from recaps.disclosure import MIN_GROUP

WHOLE_DEBATE = _("The whole debate")


@dataclass(frozen=True)
class AnsweredQuestion:
    text: str
    name: str  # empty: anonymous (the author is never shown)
    upvotes: int | None  # None: fewer than MIN_GROUP, withheld


@dataclass(frozen=True)
class ReactionRow:
    kind: str
    label: str
    taps: int | None  # None: withheld (fewer than MIN_GROUP people behind it)


@dataclass(frozen=True)
class WindowReactions:
    label: str
    start: datetime
    end: datetime
    rows: tuple[ReactionRow, ...]

    @property
    def withheld(self) -> bool:
        return any(row.taps is None for row in self.rows)


@dataclass(frozen=True)
class AudienceRecap:
    answered_listed: bool  # the organiser chose to list the answered questions
    answered: tuple[AnsweredQuestion, ...]
    reactions: tuple[WindowReactions, ...]

    @property
    def shown(self) -> bool:
        return bool(self.answered) or bool(self.reactions)


def reaction_windows(event: Event) -> list[tuple[str, datetime, datetime]]:
    """The windows the recap gives reaction totals for: (label, start, end). One per speaker's
    turn that ran on the clock (debates.stage.turns_of: from its start to its end); without
    turns, the whole debate. No total across the turns is published: each figure stands on its
    own behind MIN_GROUP people, so none can be worked out from the others."""
    span = selectors_audience.reactions_span(event_id=event.pk)
    if span is None:
        return []
    turns = turns_of(event)
    if turns:
        now = timezone.now()
        return [
            (
                f"{turn.label} · {turn.speaker}" if turn.speaker else turn.label,
                turn.started_at,
                turn.ended_at or now,
            )
            for turn in turns
        ]
    return [(str(WHOLE_DEBATE), span[0], span[1])]


def _shown(taps: int, people: int) -> bool:
    """No taps is a figure anyone may see; otherwise MIN_GROUP people must stand behind it."""
    return taps == 0 or people >= MIN_GROUP


def audience_recap(event: Event) -> AudienceRecap:
    settings = selectors_audience.audience_settings(event_id=event.pk)
    answered: tuple[AnsweredQuestion, ...] = ()
    if settings.answered_in_recap:
        answered = tuple(
            AnsweredQuestion(
                text=q.text, name=q.name, upvotes=q.upvotes if q.upvotes >= MIN_GROUP else None
            )
            for q in selectors_audience.answered_questions(event_id=event.pk)
        )
    windows = reaction_windows(event)
    per_window = selectors_audience.reactions_per_window(
        event_id=event.pk, windows=[(start, end) for _label, start, end in windows]
    )
    reactions = tuple(
        WindowReactions(
            label=label,
            start=start,
            end=end,
            rows=tuple(
                ReactionRow(
                    kind=kind,
                    label=str(kind_label),
                    taps=found.taps[kind] if _shown(found.taps[kind], found.people[kind]) else None,
                )
                for kind, kind_label in ReactionKind.choices
            ),
        )
        for (label, start, end), found in zip(windows, per_window, strict=True)
    )
    return AudienceRecap(
        answered_listed=settings.answered_in_recap, answered=answered, reactions=reactions
    )
