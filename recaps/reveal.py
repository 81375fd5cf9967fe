"""The reveal's panel: the final result as the whole room sees it when the host presses Reveal.

The same figures as the recap (recaps.selectors.result_figures, with its small-group rules),
plus the Intelligence Squared winner and the "who changed their mind" flow chart, whose flows
obey recaps.disclosure.flows_drawn. Rendered once per change and pushed to every screen by the
debate (debates.realtime_stage, which this module is plugged into from RecapsConfig.ready).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString

from debates.models import Poll, PollKind, Vote
from events.models import Event, Side
from recaps import charts, disclosure
from recaps.figures import SIDES, Flow, Iq2Result, Result, iq2_winner
from recaps.selectors import result_figures


@dataclass(frozen=True)
class Reveal:
    event: Event
    result: Result
    iq2: Iq2Result | None  # None when either vote is left out or missing
    flows: tuple[Flow, ...]  # the flows the chart draws
    chart: SafeString | None  # None: no chart (too few people, see `why`)
    why: str  # why there is no chart, or ""


def reveal_figures(event: Event) -> Reveal:
    """Three queries."""
    polls = {
        p.kind: p
        for p in Poll.objects.filter(event=event, kind__in=[PollKind.PRE_VOTE, PollKind.FINAL_VOTE])
    }
    votes: dict[str, dict[int, str]] = defaultdict(dict)
    for kind, attendee_id, side in Vote.objects.filter(
        poll__in=polls.values(), counted=True
    ).values_list("poll__kind", "attendee_id", "side"):
        votes[kind][attendee_id] = side
    pre, final = votes[PollKind.PRE_VOTE], votes[PollKind.FINAL_VOTE]
    result = result_figures(
        polls.get(PollKind.PRE_VOTE), polls.get(PollKind.FINAL_VOTE), pre, final, []
    )
    iq2 = None
    if result.pre is not None and result.final is not None:
        iq2 = iq2_winner(
            pre_for=result.pre.count(Side.FOR),
            pre_against=result.pre.count(Side.AGAINST),
            pre_total=result.pre.total,
            final_for=result.final.count(Side.FOR),
            final_against=result.final.count(Side.AGAINST),
            final_total=result.final.total,
        )
    drawn_flows: tuple[Flow, ...] = ()
    chart, why = None, ""
    both = set(pre) & set(final)
    drawn = None
    if both and disclosure.transitions_shown(pre=set(pre), final=set(final)):
        pairs = Counter((pre[a], final[a]) for a in both)
        cells = {(a, b): pairs[a, b] for a in SIDES for b in SIDES}
        drawn = disclosure.flows_drawn(cells)
        if drawn is not None:
            chart = charts.flows(cells, drawn, chart_id=f"reveal-flows-{event.pk}")
            drawn_flows = tuple(
                Flow(pre=a, final=b, count=cells[a, b])
                for a in SIDES
                for b in SIDES
                if (a, b) in drawn
            )
    if chart is None:
        why = str(disclosure.WITHHELD_TRANSITIONS)
    return Reveal(event=event, result=result, iq2=iq2, flows=drawn_flows, chart=chart, why=why)


def reveal_html(event_id: int) -> str:
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        return ""
    # Pushed to every screen of the event at once: in the event's language, like its recap.
    with translation.override(event.language):
        return render_to_string("recaps/reveal.html", {"reveal": reveal_figures(event)})
