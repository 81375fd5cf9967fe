"""The recap's SVG charts (recaps.charts), from known figures: well-formed, CSP-clean, and
readable without seeing them (their title and description name the figures)."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from recaps import charts
from recaps.figures import (
    Attendance,
    PollTimeline,
    RoomPoints,
    TallyStep,
    Turnout,
    Window,
)

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2031, 3, 4, 19, 0, tzinfo=UTC)

# The pre-vote of a known room: three steps of five voters, ending FOR 7, AGAINST 6, UNDECIDED 2.
TIMELINE = PollTimeline(
    label="Pre-vote",
    start=START,
    end=START + timedelta(minutes=4),
    steps=(
        TallyStep(at=START + timedelta(minutes=1), counts=(3, 1, 1)),
        TallyStep(at=START + timedelta(minutes=2), counts=(5, 4, 1)),
        TallyStep(at=START + timedelta(minutes=3), counts=(7, 6, 2)),
    ),
)


def clock(at: datetime) -> str:
    return timezone.localtime(at).strftime("%H:%M")


def parsed(svg: str) -> ET.Element:
    """The chart as XML: raises if it is not well-formed."""
    return ET.fromstring(svg)  # noqa: S314 - our own chart, not untrusted input


def assert_csp_clean(root: ET.Element) -> None:
    for element in root.iter():
        assert element.tag not in (f"{SVG}style", f"{SVG}script", f"{SVG}foreignObject")
        assert "style" not in element.attrib, element.tag
        assert not [name for name in element.attrib if name.lower().startswith("on")]


def text_alternative(root: ET.Element, chart_id: str) -> tuple[str, str]:
    """The chart's title and description, found the way a screen reader finds them."""
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{chart_id}-title {chart_id}-desc"
    title = root.find(f"{SVG}title[@id='{chart_id}-title']")
    desc = root.find(f"{SVG}desc[@id='{chart_id}-desc']")
    assert title is not None and desc is not None
    return title.text, desc.text


def final_heights(root: ET.Element) -> dict[str, float]:
    """The y each side's tally line ends at, by its side class."""
    ends = {}
    for path in root.iter(f"{SVG}path"):
        side = path.get("class").split()[-1]
        ends[side] = float(re.findall(r"V([\d.]+)", path.get("d"))[-1])
    return ends


def test_a_tally_timeline_is_well_formed_csp_clean_svg():
    root = parsed(charts.tally_timeline(TIMELINE, chart_id="tally-chart-0", top_value=7))
    assert root.tag == f"{SVG}svg"
    assert_csp_clean(root)
    assert [p.get("class") for p in root.iter(f"{SVG}path")] == [
        "line for",
        "line against",
        "line undecided",
    ]


def test_a_tally_timelines_text_names_its_poll_its_steps_and_the_closing_counts():
    root = parsed(charts.tally_timeline(TIMELINE, chart_id="tally-chart-0", top_value=7))
    title, desc = text_alternative(root, "tally-chart-0")
    assert title == "Pre-vote: the tally over time"
    assert desc == (
        f"From {clock(START)} to {clock(START + timedelta(minutes=4))}, in 3 steps of at least "
        "five voters each. At the close: For 7, Against 6, Undecided 2."
    )


def test_a_tally_timeline_draws_one_step_per_bucket_not_per_vote():
    root = parsed(charts.tally_timeline(TIMELINE, chart_id="c", top_value=7))
    for path in root.iter(f"{SVG}path"):
        assert len(re.findall(r"V", path.get("d"))) == len(TIMELINE.steps)


def test_two_polls_on_one_scale_draw_the_same_count_at_the_same_height():
    other = PollTimeline(
        label="Final vote",
        start=START + timedelta(hours=1),
        end=START + timedelta(hours=1, minutes=2),
        steps=(TallyStep(at=START + timedelta(hours=1, minutes=1), counts=(7, 20, 0)),),
    )
    pre = final_heights(parsed(charts.tally_timeline(TIMELINE, chart_id="a", top_value=20)))
    final = final_heights(parsed(charts.tally_timeline(other, chart_id="b", top_value=20)))
    assert pre["for"] == final["for"]  # 7 in both
    assert final["against"] < pre["against"]  # 20 is drawn higher (smaller y) than 6


def test_a_timeline_without_steps_draws_flat_lines_and_says_so():
    empty = PollTimeline(label="Final vote", start=START, end=START, steps=())
    root = parsed(charts.tally_timeline(empty, chart_id="c", top_value=0))
    assert_csp_clean(root)
    _title, desc = text_alternative(root, "c")
    assert "in 0 steps" in desc and "For 0, Against 0, Undecided 0" in desc
    for path in root.iter(f"{SVG}path"):
        assert "V" not in path.get("d")


def test_the_turnout_chart_names_each_figure():
    turnout = Turnout(attendees=40, pre_voters=34, final_voters=31, both_voters=29)
    root = parsed(charts.turnout(turnout, chart_id="turnout-chart"))
    assert_csp_clean(root)
    title, desc = text_alternative(root, "turnout-chart")
    assert title == "Turnout"
    assert desc == (
        "Joined: 40; Voted in the pre-vote: 34; Voted in the final vote: 31; Voted in both: 29"
    )
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "value"]
    assert labels == ["40", "34", "31", "29"]


def test_the_room_points_chart_names_each_room_and_escapes_its_name():
    rows = (
        RoomPoints(room="Harbour", for_points=2, against_points=1),
        RoomPoints(room='<script>alert("x")</script> & Co', for_points=0, against_points=3),
    )
    svg = charts.room_points(rows, chart_id="room-points-chart")
    assert "<script>" not in svg
    root = parsed(svg)
    assert_csp_clean(root)
    title, desc = text_alternative(root, "room-points-chart")
    assert title == "Points per room, FOR / AGAINST"
    assert desc == 'Harbour: 2 / 1; <script>alert("x")</script> & Co: 0 / 3'
    bars = [r.get("class") for r in root.iter(f"{SVG}rect") if "bar" in r.get("class")]
    assert bars == ["bar for", "bar against", "bar against"]  # no bar for a zero


def test_the_attendance_chart_counts_the_joins_and_labels_the_windows():
    joins = tuple(START + timedelta(minutes=n) for n in range(12))
    attendance = Attendance(
        start=START,
        end=START + timedelta(minutes=90),
        joins=joins,
        windows=(
            Window(
                label="Pre-vote",
                start=START + timedelta(minutes=15),
                end=START + timedelta(minutes=20),
            ),
            Window(
                label="Breakouts",
                start=START + timedelta(minutes=30),
                end=START + timedelta(minutes=60),
            ),
        ),
    )
    root = parsed(charts.attendance(attendance, chart_id="attendance-chart"))
    assert_csp_clean(root)
    title, desc = text_alternative(root, "attendance-chart")
    assert title == "Attendance over the event"
    assert desc == (
        f"12 people joined between {clock(START)} and {clock(START + timedelta(minutes=90))}."
    )
    windows = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "window-label"]
    assert windows == ["Pre-vote", "Breakouts"]
    [line] = root.iter(f"{SVG}path")
    assert len(re.findall(r"V", line.get("d"))) == len(joins)


@pytest.mark.parametrize(("top", "step"), [(1, 1), (4, 1), (7, 2), (20, 5), (40, 10), (90, 25)])
def test_the_y_axis_ticks_are_round_numbers(top, step):
    root = parsed(charts.tally_timeline(TIMELINE, chart_id="c", top_value=top))
    ticks = [
        int(t.text)
        for t in root.iter(f"{SVG}text")
        if t.get("text-anchor") == "end" and t.text.isdigit()
    ]
    assert ticks[:2] == [0, step]
    assert all(b - a == step for a, b in itertools.pairwise(ticks))
