"""Script and markup typed into names, points, takeaways and speaker texts stay text: on every
page, in every phase, in the socket's pushes and in every export (Markdown included).

Each field gets its own marker, e.g. <script>SN</script>"'&<b onmouseover=SN>. On a page the
marker must show as text (so it was rendered, escaped) and nothing of it may become an element.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from django.urls import reverse

from debates import realtime, selectors
from debates.models import BreakoutRound, Point, Takeaway
from debates.services import points, rounds
from events.models import Attendee, Event, Phase, Resource, Side, Speaker, Theme
from tests.conftest import make_attendee
from tests.security.conftest import Page, World, client_for, main_pages, page_status

REPO = Path(__file__).resolve().parents[2]


def payload(marker: str) -> str:
    return f"<script>{marker}</script>\"'&<b onmouseover={marker}>"


def shown(marker: str) -> str:
    """What the page shows when the payload is escaped: the script tag as text."""
    return f"<script>{marker}</script>"


FIELDS = {
    "T": "event title",
    "M": "motion",
    "I": "intro",
    "V": "venue",
    "SN": "speaker name",
    "SA": "speaker affiliation",
    "SS": "speaker statement",
    "TN": "theme name",
    "TP": "theme prompt",
    "R": "resource title",
    "N": "attendee name",
    "RN": "room name",
    "RL": "room location",
    "RM": "round message",
    "P": "point",
    "KT": "takeaway title",
    "KX": "takeaway text",
}


@pytest.fixture
def hostile(world: World) -> World:
    """The world, with hostile text in every field a person can type."""
    event = world.event
    Event.objects.filter(pk=event.pk).update(
        title=payload("T"), motion=payload("M"), intro=payload("I"), venue=payload("V")
    )
    for speaker in Speaker.objects.filter(event=event):
        speaker.name, speaker.affiliation = payload("SN"), payload("SA")
        speaker.statement = payload("SS") + "\n\n# Heading\n[link](javascript:alert(1))"
        speaker.save()
    Theme.objects.filter(pk=event.themes.first().pk).update(
        name=payload("TN"), prompt=payload("TP")
    )
    Resource.objects.create(event=event, title=payload("R"), url="https://example.org/read")
    Attendee.objects.filter(pk=world.attendee.pk).update(display_name=payload("N"))
    world.room.name, world.room.location = payload("RN"), payload("RL")
    world.room.save()
    rounds.round_message(round_=world.round, text=payload("RM"))
    Point.objects.filter(pk=world.point.pk).update(text=payload("P"), highlighted=True)
    formula = make_attendee(event, "Formula")
    rounds.attendee_move(attendee=formula, room=world.room)
    points.point_add(
        room=world.room,
        attendee=formula,
        theme=event.themes.first(),
        side=Side.AGAINST,
        text='=HYPERLINK("https://evil.example","Click")',
    )
    Takeaway.objects.create(event=event, title=payload("KT"), text=payload("KX"), position=0)
    world.event.refresh_from_db()
    return world


def _set_phase(world: World, phase: str) -> None:
    Event.objects.filter(pk=world.event.pk).update(
        phase=phase, recap_published=phase == Phase.ENDED
    )
    if phase != Phase.BREAKOUTS:
        BreakoutRound.objects.filter(pk=world.round.pk).update(ended_at=world.round.started_at)
    world.event.refresh_from_db()


def _injected(page: Page) -> list:
    """Elements the payloads would have made: handlers, stray scripts, our <b>."""
    stray = [s for s in page.scripts() if not (s.get("src") or "").startswith("/static/")]
    bold_with_handler = [(t, a) for t, a in page.elements if t == "b" and a]
    return page.handlers() + stray + bold_with_handler


@pytest.mark.django_db
def test_every_page_in_every_phase_shows_hostile_text_as_text(hostile: World):
    seen: set[str] = set()
    for phase in (Phase.BREAKOUTS, Phase.PLENARY, Phase.ENDED):
        _set_phase(hostile, phase)
        for label, role, url in main_pages(hostile):
            response = client_for(role, hostile).get(url)
            assert response.status_code == page_status(label, hostile), (phase, label)
            page = Page(response.content.decode())
            assert _injected(page) == [], (phase, label)
            seen |= {marker for marker in FIELDS if shown(marker) in page.text}
    assert seen == set(FIELDS), f"never shown: {[FIELDS[m] for m in set(FIELDS) - seen]}"


@pytest.mark.django_db
def test_the_socket_pushes_escaped_html_and_text_only_as_json(hostile: World):
    event = hostile.event
    message = realtime.event_message(event, selectors.poll_snapshots(event_id=event.pk), fresh=True)
    page = Page(message["html"])
    assert _injected(page) == []
    assert shown("M") in page.text
    # Points travel as JSON text; the pages' scripts put socket text in with textContent only.
    for path in sorted((REPO / "static" / "js").glob("*.js")):
        source = path.read_text()
        for target in re.findall(r"innerHTML\s*=\s*([^;]+);", source):
            assert target.strip() == "html", (path.name, target)  # the server-rendered stage
        if "insertAdjacentHTML" in source:
            assert path.name == "formset.js"  # copies the page's own <template>


@pytest.mark.django_db
def test_the_markdown_export_keeps_hostile_text_literal(hostile: World):
    _set_phase(hostile, Phase.ENDED)
    client = client_for("host", hostile)
    text = client.get(reverse("recaps:export_markdown", args=[hostile.event.slug])).content.decode()
    # The only links are the export's own (the resources and the subscribe link)...
    link = re.compile(r"(?<!\\)\[((?:\\.|[^\\\]])*)\]\(([^)\s]*)\)")
    targets = {url for _label, url in link.findall(text)}
    assert targets == {"https://example.org/read", "http://testserver/#subscribe"}
    # ...and outside them not one unescaped angle or square bracket: no HTML, no links, no
    # images. (A ">" opening a line is the export's own block quote.)
    bodies = [re.sub(r"^(> ?)+", "", line) for line in link.sub("", text).splitlines()]
    assert [b for b in bodies if re.search(r"(?<!\\)[<>\[\]]", b)] == []
    assert "javascript:" not in text.replace("\\[link\\](javascript:", "")
    assert "\n# Heading" not in text and "\\# Heading" in text
    escaped = {m for m in FIELDS if f"\\<script\\>{m}\\</script\\>" in text}
    assert {"T", "M", "SN", "SS", "TN", "P", "KT", "KX", "R"} <= escaped


@pytest.mark.django_db
def test_csv_exports_are_downloads_that_no_spreadsheet_runs(hostile: World):
    _set_phase(hostile, Phase.ENDED)
    client = client_for("host", hostile)
    slug = hostile.event.slug
    for name in ("recaps:export_points", "recaps:export_votes", "recaps:export_markdown"):
        response = client.get(reverse(name, args=[slug]))
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"  # never sniffed as HTML
        assert response["Content-Type"].split(";")[0] in {"text/csv", "text/markdown"}
    exported = client.get(reverse("recaps:export_points", args=[slug])).content.decode()
    cells = [cell for row in csv.reader(io.StringIO(exported)) for cell in row]
    assert "'" + '=HYPERLINK("https://evil.example","Click")' in cells
    assert not [
        c for c in cells if c[:1] in {"=", "+", "@"} or (c.startswith("-") and not c[1:].isdigit())
    ]
    assert payload("P") in cells  # kept as the text it is


@pytest.mark.django_db
def test_the_join_form_echoes_a_hostile_code_as_text(hostile: World):
    response = client_for("anonymous", hostile).post(
        reverse("debates:join"), {"code": '"><b onmouseover=J>', "display_name": payload("N")}
    )
    assert response.status_code == 400
    assert _injected(Page(response.content.decode())) == []
