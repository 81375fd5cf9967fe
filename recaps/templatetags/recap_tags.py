"""Formatting for the recap's figures, its Markdown export and its charts.

Figures are computed once in recaps.selectors.event_recap; these only format them, so the
summary, the public recap and the Markdown export print the same digits.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django import template
from django.utils.encoding import iri_to_uri
from django.utils.safestring import SafeString

from recaps import charts
from recaps.figures import Recap

register = template.Library()

NO_FIGURE = "—"
MINUS = "\u2212"

# Characters Markdown (CommonMark and GFM tables) would read as syntax anywhere in a line.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~&])")
_MD_BLOCK_MARK = re.compile(r"^(\s*)([#>+=-])", re.MULTILINE)
_MD_ORDERED = re.compile(r"^(\s*)(\d+)([.)])", re.MULTILINE)
# Autolinks: GitHub's cmark-gfm, markdown-it's linkify and mistune's url plugin turn bare
# "https://…", "www.…", "mailto:…", "evil.com" and e-mail addresses in plain text into links.
# A backslash before a ":" or "." inside a word stops every URL and domain match and renders
# as nothing. cmark-gfm finds e-mail addresses after escapes are resolved, so an "@" followed
# by a word gets a WORD JOINER (U+2060): invisible, and no address can start after it.
_MD_LINKISH = re.compile(r"([:.])(?=[\w/])")
_MD_AT = re.compile(r"@(?=\w)")
WORD_JOINER = "\u2060"


@register.filter
def pct(value: Decimal | None) -> str:
    """47.1 -> "47.1%"; None (nothing to divide by) -> an em dash."""
    return NO_FIGURE if value is None else f"{value}%"


@register.filter
def signed(value: Decimal | None) -> str:
    """A change in percentage points with its sign: +2.9, −12.4 (a true minus), 0.0."""
    if value is None:
        return NO_FIGURE
    if value > 0:
        return f"+{value}"
    if value < 0:
        return f"{MINUS}{-value}"
    return f"{abs(value)}"


@register.filter
def md(value: object) -> str:
    """Text as literal Markdown: what people typed cannot turn into links, images, HTML or
    headings in any common renderer (tests/security/test_markdown_renderers.py), and reads the
    same."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_LINKISH.sub(r"\\\1", text)
    text = _MD_AT.sub("@" + WORD_JOINER, text)
    text = _MD_BLOCK_MARK.sub(r"\1\\\2", text)
    return _MD_ORDERED.sub(r"\1\2\\\3", text)


@register.filter
def md_quote(value: object) -> str:
    """Escaped text as a Markdown block quote, paragraph breaks kept."""
    return "\n".join(f"> {line}".rstrip() for line in md(value).strip().split("\n"))


@register.filter
def md_item(value: object) -> str:
    """Escaped text as the body of a Markdown list item: continuation lines indented."""
    return "\n".join(
        f"   {line}" if i and line else line for i, line in enumerate(md(value).strip().split("\n"))
    )


@register.filter
def md_url(value: object) -> str:
    """A URL that cannot end a Markdown link early."""
    return iri_to_uri(str(value)).replace("(", "%28").replace(")", "%29").replace(" ", "%20")


@register.filter
def md_cell(value: object) -> str:
    """Escaped text for one cell of a Markdown table (no line breaks)."""
    return " ".join(md(value).split())


@register.simple_tag
def tally_chart(recap: Recap, index: int) -> SafeString:
    """The index-th poll's tally over time, on a y scale shared by both polls."""
    top = max(
        (max(step.counts) for timeline in recap.timelines for step in timeline.steps),
        default=0,
    )
    return charts.tally_timeline(
        recap.timelines[index], chart_id=f"tally-chart-{index}", top_value=top
    )


@register.simple_tag
def turnout_chart(recap: Recap) -> SafeString:
    return charts.turnout(recap.turnout, chart_id="turnout-chart")


@register.simple_tag
def attendance_chart(recap: Recap) -> SafeString:
    return charts.attendance(recap.attendance, chart_id="attendance-chart")


@register.simple_tag
def room_points_chart(recap: Recap) -> SafeString:
    return charts.room_points(recap.room_points, chart_id="room-points-chart")


@register.filter
def mmss(seconds: int | None) -> str:
    """A length of time as a clock shows it: 420 -> "7:00", -75 -> "−1:15"."""
    if seconds is None:
        return NO_FIGURE
    sign, seconds = (MINUS, -seconds) if seconds < 0 else ("", seconds)
    return f"{sign}{seconds // 60}:{seconds % 60:02d}"
