"""Server-rendered SVG charts for the recap and the organiser summary.

Pure functions from the recap's dataclasses to inline SVG: no JavaScript, and no style
attributes (the Content Security Policy forbids them). Geometry uses SVG presentation
attributes; colours come from classes styled in app.css, so dark mode and print follow.
Every chart carries a <title> and a <desc> with its numbers for screen readers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from recaps.figures import SIDES, Attendance, PollTimeline, RoomPoints, Turnout

# One coordinate system for all charts; it scales to the column, and about 360 units wide
# keeps 11-unit labels readable on a phone and in a two-column grid on a laptop.
WIDTH = 360
LEFT, RIGHT, TOP, BOTTOM = 30, 12, 14, 26
SIDE_CLASSES = tuple(str(s) for s in SIDES)


def _nice_step(top: int, ticks: int = 4) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if top / step <= ticks:
            return step
    return max(1, top // ticks)


def _clock(at: datetime) -> str:
    return date_format(timezone.localtime(at), "H:i")


def _svg(chart_id: str, height: int, title: str, desc: str, body: Iterable[str]) -> SafeString:
    head = format_html(
        '<svg class="chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
        'aria-labelledby="{}-title {}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>',
        WIDTH,
        height,
        WIDTH,
        height,
        chart_id,
        chart_id,
        chart_id,
        title,
        chart_id,
        desc,
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every part is escaped


def _y_axis(top_value: int, y_of, x0: float, x1: float) -> list[str]:
    step = _nice_step(top_value)
    parts = []
    for value in range(0, top_value + 1, step):
        y = y_of(value)
        parts.append(
            format_html(
                '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>',
                x0,
                x1,
                f"{y:.1f}",
                f"{y:.1f}",
                x0 - 5,
                f"{y + 3.5:.1f}",
                value,
            )
        )
    return parts


def _scales(
    start: datetime, span: float, box: tuple[float, float, float, float], top_value: float
) -> tuple[Callable[[datetime], float], Callable[[int], float]]:
    """x of a moment (clamped to the chart's time span) and y of a value, in a chart's box
    (x0, x1, y0 at the bottom, y1 at the top): the one mapping every time chart uses."""
    x0, x1, y0, y1 = box

    def x_of(at: datetime) -> float:
        offset = min(max((at - start).total_seconds(), 0.0), span)
        return x0 + (x1 - x0) * offset / span

    def y_of(value: int) -> float:
        return y0 - (y0 - y1) * value / top_value

    return x_of, y_of


def _ceil_to_step(value: int) -> int:
    value = max(value, 1)
    step = _nice_step(value)
    return -(-value // step) * step


def tally_timeline(timeline: PollTimeline, *, chart_id: str, top_value: int) -> SafeString:
    """The running tally of one poll, a stepped line per side, replayed from the vote log.

    One step per bucket of at least MIN_GROUP voters (recaps.selectors._timeline), never one
    per vote: a step for one vote at a known time would be that person's vote.

    top_value fixes the y scale, so the pre-vote and final-vote charts compare at a glance.
    """
    height = 190
    x0, x1, y0, y1 = LEFT, WIDTH - RIGHT, height - BOTTOM, TOP
    top_value = _ceil_to_step(top_value)
    span = max((timeline.end - timeline.start).total_seconds(), 1.0)

    x_of, y_of = _scales(timeline.start, span, (x0, x1, y0, y1), top_value)

    parts = _y_axis(top_value, y_of, x0, x1)
    for i, side in enumerate(SIDE_CLASSES):
        path = [f"M{x0:.1f} {y_of(0):.1f}"]
        for step in timeline.steps:
            path.append(f"H{x_of(step.at):.1f}V{y_of(step.counts[i]):.1f}")
        path.append(f"H{x1:.1f}")
        parts.append(format_html('<path class="line {}" d="{}"/>', side, "".join(path)))
    parts.append(
        format_html(
            '<text class="tick" x="{}" y="{}">{}</text>'
            '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>',
            x0,
            height - 8,
            _clock(timeline.start),
            x1,
            height - 8,
            _clock(timeline.end),
        )
    )
    final = timeline.steps[-1].counts if timeline.steps else (0,) * len(SIDES)
    desc = _(
        "From %(start)s to %(end)s, in %(steps)s steps of at least five voters each. "
        "At the close: %(counts)s."
    ) % {
        "start": _clock(timeline.start),
        "end": _clock(timeline.end),
        "steps": len(timeline.steps),
        "counts": ", ".join(f"{s.label} {n}" for s, n in zip(SIDES, final, strict=True)),
    }
    title = _("%(poll)s: the tally over time") % {"poll": timeline.label}
    return _svg(chart_id, height, title, desc, parts)


def _bars(
    chart_id: str,
    title: str,
    rows: list[tuple[str, list[tuple[str, int]], str]],
    top_value: int,
) -> SafeString:
    """Horizontal bars: (label, [(css class, value), ...] stacked, figure text) per row."""
    row_height, bar_height = 40, 16
    height = TOP + row_height * len(rows) + 4
    x0, x1 = 8, WIDTH - 60
    scale = (x1 - x0) / max(top_value, 1)
    parts = []
    for n, (label, segments, figure) in enumerate(rows):
        y = TOP + row_height * n
        parts.append(format_html('<text class="label" x="{}" y="{}">{}</text>', x0, y + 4, label))
        parts.append(
            format_html(
                '<rect class="track" x="{}" y="{}" width="{}" height="{}" rx="3"/>',
                x0,
                y + 10,
                x1 - x0,
                bar_height,
            )
        )
        x = float(x0)
        for css, value in segments:
            if value:
                parts.append(
                    format_html(
                        '<rect class="bar {}" x="{}" y="{}" width="{}" height="{}"/>',
                        css,
                        f"{x:.1f}",
                        y + 10,
                        f"{value * scale:.1f}",
                        bar_height,
                    )
                )
            x += value * scale
        parts.append(
            format_html(
                '<text class="value" x="{}" y="{}">{}</text>',
                x1 + 6,
                y + 10 + bar_height - 4,
                figure,
            )
        )
    desc = "; ".join(f"{label}: {figure}" for label, _segments, figure in rows)
    return _svg(chart_id, height, title, escape(desc), parts)


def turnout(turnout: Turnout, *, chart_id: str) -> SafeString:
    rows = [
        (_("Joined"), [("joined", turnout.attendees)], str(turnout.attendees)),
        (_("Voted in the pre-vote"), [("voted", turnout.pre_voters)], str(turnout.pre_voters)),
        (
            _("Voted in the final vote"),
            [("voted", turnout.final_voters)],
            str(turnout.final_voters),
        ),
        (_("Voted in both"), [("voted", turnout.both_voters)], str(turnout.both_voters)),
    ]
    return _bars(chart_id, _("Turnout"), rows, turnout.attendees)


def room_points(rows: tuple[RoomPoints, ...], *, chart_id: str) -> SafeString:
    top_value = max((r.total for r in rows), default=0)
    bars = [
        (
            r.room,
            [("for", r.for_points), ("against", r.against_points)],
            f"{r.for_points} / {r.against_points}",
        )
        for r in rows
    ]
    return _bars(chart_id, _("Points per room, FOR / AGAINST"), bars, top_value)


def attendance(attendance: Attendance, *, chart_id: str) -> SafeString:
    """People joined so far, over the event's time, against the votes and breakouts."""
    height = 200
    x0, x1, y0, y1 = LEFT, WIDTH - RIGHT, height - BOTTOM, TOP + 22
    total = len(attendance.joins)
    top_value = _ceil_to_step(total)
    span = max((attendance.end - attendance.start).total_seconds(), 1.0)

    x_of, y_of = _scales(attendance.start, span, (x0, x1, y0, y1), top_value)

    parts = []
    for n, window in enumerate(attendance.windows):
        # Labels alternate between two lines so neighbouring windows do not overprint.
        parts.append(
            format_html(
                '<rect class="window" x="{}" y="{}" width="{}" height="{}"/>'
                '<text class="window-label" x="{}" y="{}">{}</text>',
                f"{x_of(window.start):.1f}",
                y1,
                f"{max(x_of(window.end) - x_of(window.start), 1.5):.1f}",
                y0 - y1,
                f"{x_of(window.start):.1f}",
                y1 - 4 - 12 * (n % 2),
                window.label,
            )
        )
    parts += _y_axis(top_value, y_of, x0, x1)
    path = [f"M{x0:.1f} {y_of(0):.1f}"]
    for n, at in enumerate(attendance.joins, start=1):
        path.append(f"H{x_of(at):.1f}V{y_of(n):.1f}")
    path.append(f"H{x1:.1f}")
    parts.append(format_html('<path class="line joined" d="{}"/>', "".join(path)))
    parts.append(
        format_html(
            '<text class="tick" x="{}" y="{}">{}</text>'
            '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>',
            x0,
            height - 8,
            _clock(attendance.start),
            x1,
            height - 8,
            _clock(attendance.end),
        )
    )
    desc = _("%(total)s people joined between %(start)s and %(end)s.") % {
        "total": total,
        "start": _clock(attendance.start),
        "end": _clock(attendance.end),
    }
    return _svg(chart_id, height, _("Attendance over the event"), desc, parts)


def flows(
    cells: dict[tuple[str, str], int], drawn: set[tuple[str, str]], *, chart_id: str
) -> SafeString:
    """Who changed their mind: the pre-vote sides on the left, the final-vote sides on the
    right, a band per flow of people between them, as thick as the flow is big.

    Only the flows in `drawn` (recaps.disclosure.flows_drawn) are bands; the rest of each side
    is left blank, so a flow of one to four people shows nowhere, not even by subtraction.
    """
    height, top, gap = 230, 12, 12
    # Wide margins for the side names, at a size read from the back of a room.
    x_left, x_right, node = 118, WIDTH - 118, 12
    labels = {s: str(s.label) for s in SIDES}
    rows = {a: sum(cells.get((a, b), 0) for b in SIDES) for a in SIDES}
    cols = {b: sum(cells.get((a, b), 0) for a in SIDES) for b in SIDES}
    total = max(sum(rows.values()), 1)
    scale = (height - 2 * top - gap * (len(SIDES) - 1)) / total

    def stack(totals: dict) -> dict:
        y, at = float(top), {}
        for side in SIDES:
            at[side] = y
            y += totals[side] * scale + gap
        return at

    left_y, right_y = stack(rows), stack(cols)
    parts = []
    for side in SIDES:
        for x, y, n, anchor, tx in (
            (x_left - node, left_y[side], rows[side], "end", x_left - node - 6),
            (x_right, right_y[side], cols[side], "start", x_right + node + 6),
        ):
            if not n:
                continue
            parts.append(
                format_html(
                    '<rect class="node {}" x="{}" y="{}" width="{}" height="{}"/>'
                    '<text class="flow-label" x="{}" y="{}" text-anchor="{}">{} {}</text>',
                    side,
                    x,
                    f"{y:.1f}",
                    node,
                    f"{max(n * scale, 1.5):.1f}",
                    tx,
                    f"{y + n * scale / 2 + 5:.1f}",
                    anchor,
                    labels[side],
                    n,
                )
            )
    out = dict(left_y)
    into = dict(right_y)
    described = []
    for a in SIDES:
        for b in SIDES:
            n = cells.get((a, b), 0)
            if (a, b) not in drawn or not n:
                continue
            h = n * scale
            y0, y1 = out[a], into[b]
            out[a] += h
            into[b] += h
            mid = (x_left + x_right) / 2
            path = (
                f"M{x_left} {y0:.1f}C{mid:.1f} {y0:.1f} {mid:.1f} {y1:.1f} {x_right} {y1:.1f}"
                f"V{y1 + h:.1f}C{mid:.1f} {y1 + h:.1f} {mid:.1f} {y0 + h:.1f} {x_left} {y0 + h:.1f}Z"
            )
            parts.append(
                format_html(
                    '<path class="flow {}{}" d="{}"/>', b, " stayed" if a == b else "", path
                )
            )
            if a != b:
                parts.append(
                    format_html(
                        '<text class="flow-value" x="{}" y="{}" text-anchor="middle">{}</text>',
                        f"{mid:.1f}",
                        f"{(y0 + y1 + h) / 2 + 6:.1f}",
                        n,
                    )
                )
            described.append(
                _("%(pre)s to %(final)s: %(n)s") % {"pre": labels[a], "final": labels[b], "n": n}
            )
    desc = _(
        "Left, each side of the pre-vote; right, each side of the final vote; among the people "
        "who voted both times. %(flows)s. Flows of fewer than five people are not drawn."
    ) % {"flows": "; ".join(described) or _("No flow is big enough to draw")}
    return _svg(chart_id, height, _("Who changed their mind"), desc, parts)


def motion_history(history, *, chart_id: str) -> SafeString:
    """The motion across a series (recaps.series.MotionHistory): per event, the pre-vote and
    the final vote as bars of FOR, UNDECIDED and AGAINST shares, oldest first. A vote whose
    figures the recap withholds has no bar."""
    rows = []
    for sitting in history.sittings:
        when = date_format(timezone.localtime(sitting.event.starts_at), "j M Y")
        for moment, tally in ((_("before"), sitting.pre), (_("after"), sitting.final)):
            if tally is None:
                continue
            shares = {s.side: s.percent or 0 for s in tally.sides}
            segments = [
                (side, float(shares.get(side, 0))) for side in ("for", "undecided", "against")
            ]
            figure = _("FOR %(share)s%%") % {"share": shares.get("for", 0)}
            rows.append((f"{when} · {moment}", segments, figure))
    return _bars(chart_id, _("The motion across the series"), rows, 100)
