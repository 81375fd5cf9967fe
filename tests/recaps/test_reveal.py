"""The reveal's figures equal a hand calculation (tests/recaps/known_votes.py), and its flow
chart never lets a flow of one to four people be worked out."""

from __future__ import annotations

import itertools
import random

import pytest

from debates.models import PollKind
from debates.services import reveal as reveal_service
from events.models import Side
from recaps import disclosure, reveal
from recaps.figures import SIDES, iq2_winner
from tests.recaps.known_votes import (
    EXPECTED_FLOWS,
    EXPECTED_REVEAL,
    build_known_event,
    read_figures,
)

pytestmark = pytest.mark.django_db


def test_the_reveal_shows_the_hand_calculated_winner_verdict_swing_and_bars(event):
    build_known_event(event)
    figures, _loose = read_figures(reveal.reveal_html(event.pk), root_id="reveal-result")
    assert {key: figures[key] for key in EXPECTED_REVEAL} == {
        key: [value] for key, value in EXPECTED_REVEAL.items()
    }


def test_the_flow_chart_draws_only_flows_of_five_or_more(event):
    build_known_event(event)
    figures = reveal.reveal_figures(event)
    assert [(f.pre, f.final, f.count) for f in figures.flows] == EXPECTED_FLOWS
    assert figures.chart is not None and "<script" not in figures.chart
    assert " style=" not in figures.chart  # CSP: no inline style


def test_the_iq2_rule_can_differ_from_the_verdict_and_calls_a_tie_a_draw():
    # FOR leads the final vote 60 to 40, but AGAINST gained more: AGAINST wins the night.
    result = iq2_winner(
        pre_for=70, pre_against=20, pre_total=100, final_for=60, final_against=40, final_total=100
    )
    assert (result.winner, str(result.for_gain), str(result.against_gain)) == (
        Side.AGAINST,
        "-10.0",
        "20.0",
    )
    draw = iq2_winner(
        pre_for=4, pre_against=4, pre_total=10, final_for=5, final_against=5, final_total=10
    )
    assert draw.winner == "" and draw.label == "a draw"
    assert (
        iq2_winner(
            pre_for=0, pre_against=0, pre_total=0, final_for=1, final_against=0, final_total=1
        )
        is None
    )


def test_the_reveal_panel_is_pushed_only_once_the_host_reveals(event):
    build_known_event(event)
    from debates import realtime_stage
    from debates.models import Poll

    Poll.objects.filter(event=event, kind=PollKind.FINAL_VOTE).update(revealed_at=None)
    assert realtime_stage.reveal_message(event.pk)["revealed"] is False
    reveal_service.reveal_show(event=event)
    message = realtime_stage.reveal_message(event.pk)
    assert message["revealed"] is True and 'data-figure="reveal-winner"' in message["html"]


# ---------------------------------------------------------------- no small flow can be derived


def _ranges(cells: dict, drawn: set) -> dict:
    """By brute force: every table with the same side totals and the same drawn flows; the
    least and most each flow not drawn can be (independent of flows_drawn's vertex search)."""
    rows = {a: sum(cells[a, b] for b in SIDES) for a in SIDES}
    ranges: dict = {}

    def compositions(total):
        return [(x, y, total - x - y) for x in range(total + 1) for y in range(total + 1 - x)]

    for table in itertools.product(*(compositions(rows[a]) for a in SIDES)):
        candidate = {(a, b): table[i][j] for i, a in enumerate(SIDES) for j, b in enumerate(SIDES)}
        if any(candidate[c] != cells[c] for c in drawn):
            continue
        if any(
            sum(candidate[a, b] for a in SIDES) != sum(cells[a, b] for a in SIDES) for b in SIDES
        ):
            continue
        for c in cells:
            if c not in drawn:
                low, high = ranges.get(c, (candidate[c], candidate[c]))
                ranges[c] = (min(low, candidate[c]), max(high, candidate[c]))
    return ranges


def _random_tables(n: int, seed: int = 7):
    rng = random.Random(seed)
    for _ in range(n):
        yield {(a, b): rng.choice([0, 0, 1, 2, 3, 5, 6]) for a in SIDES for b in SIDES}


@pytest.mark.parametrize("cells", list(_random_tables(25)))
def test_no_flow_left_out_is_pinned_to_one_to_four_people(cells):
    drawn = disclosure.flows_drawn(cells)
    if drawn is None:
        return  # no chart at all
    assert all(cells[c] >= disclosure.MIN_GROUP for c in drawn)
    for cell, (low, high) in _ranges(cells, drawn).items():
        assert not (low >= 1 and high < disclosure.MIN_GROUP), (cell, low, high, drawn)


def test_a_lone_small_flow_beside_big_ones_takes_them_off_the_chart():
    F, A, _U = SIDES
    cells = {(a, b): 0 for a in SIDES for b in SIDES} | {(F, F): 6, (F, A): 2, (A, A): 7}
    drawn = disclosure.flows_drawn(cells)
    # Drawing FOR->FOR and AGAINST->AGAINST would leave FOR->AGAINST as the FOR total minus 6.
    assert drawn is not None and (F, A) not in drawn and (F, F) not in drawn
    for cell, (low, high) in _ranges(cells, drawn).items():
        assert not (low >= 1 and high < disclosure.MIN_GROUP), cell
