"""Exports: the Markdown recap, the anonymised vote CSV, the points CSV; and anonymity."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from debates.management.commands.seed_demo import DEMO_SLUG, TAKEAWAYS, THEMES
from debates.models import Point, Takeaway
from events.models import Attendee, Event
from tests.recaps.known_votes import NAMES, build_known_event

pytestmark = pytest.mark.django_db

EXPORTS = ("export_markdown", "export_votes", "export_points")


@pytest.fixture
def known(event):
    return build_known_event(event)


@pytest.fixture
def demo(client) -> Event:
    call_command("seed_demo", stdout=io.StringIO())
    client.force_login(get_user_model().objects.get(username="organiser"))
    return Event.objects.get(slug=DEMO_SLUG)


def _get(client, name: str, event: Event):
    return client.get(reverse(f"recaps:{name}", args=[event.slug]))


def _rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_demo_markdown_holds_every_theme_highlight_and_takeaway(client, demo):
    md = _get(client, "export_markdown", demo).content.decode()
    for theme, sides in THEMES.items():
        assert f"### {theme}\n" in md
        for points in sides.values():
            for text, _upvotes, highlighted in points:
                if highlighted:
                    assert f"- ★ {text} *(" in md
    for title, text in TAKEAWAYS:
        assert f"**{title}**" in md and text in md
    # The database agrees with the seed's constants: nothing highlighted was missed.
    for point in Point.objects.filter(event=demo, highlighted=True):
        assert point.text in md
    assert Takeaway.objects.filter(event=demo).count() == len(TAKEAWAYS)


def test_no_attendee_name_or_token_in_the_public_recap_or_any_export(client, demo):
    pages = [_get(client, name, demo).content.decode() for name in EXPORTS]
    client.logout()
    recap = client.get(reverse("recaps:recap", args=[demo.slug]))
    assert recap.status_code == 200
    pages.append(recap.content.decode())
    attendees = list(Attendee.objects.filter(event=demo))
    names = {a.display_name for a in attendees if a.display_name}
    assert len(names) > 20
    for page in pages:
        assert not [a.token for a in attendees if a.token in page]
        assert not [name for name in names if re.search(rf"\b{re.escape(name)}\b", page)]


def test_the_markdown_prints_the_figures_worked_out_by_hand(client, event, known, organiser):
    client.force_login(organiser)
    md = _get(client, "export_markdown", event).content.decode()
    for line in [
        "# Live recap: Test debate",
        "The room was **evenly split**. FOR won 47.4% of the 19 final votes that took a side "
        "(95% interval 27.3% to 68.3%); 2 undecided votes count for neither side.",
        "| For | 7 (43.8%) | 9 (42.9%) | \u22120.9 pts |",
        "| Against | 5 (31.3%) | 10 (47.6%) | +16.4 pts |",
        "| Undecided | 4 (25.0%) | 2 (9.5%) | \u221215.5 pts |",
        "| Votes | 16 | 21 | |",
        "**Swing: \u22120.9 points** in FOR's share of the vote, from 43.8% in the pre-vote to "
        "42.9% in the final vote.",
        "Of the 16 people who voted both times, 9 kept their side and 7 moved. Among them FOR "
        "went from 43.8% to 56.3%, a swing of +12.5 points.",
        "| For | 5 | 1 | 1 | 7 |",
        "| Against | 2 | 3 | 0 | 5 |",
        "| Undecided | 2 | 1 | 1 | 4 |",
        "| Total | 9 | 5 | 2 | 16 |",
        "| Harbour | 5 | 60.0% | 80.0% | +20.0 |",
        "| Meadow | 11 | 36.4% | 45.5% | +9.1 |",
    ]:
        assert line + "\n" in md, line
    assert "| Summit |" not in md
    assert "\n\n\n" not in md


def test_the_markdown_keeps_typed_text_literal(client, event, known, organiser):
    Point.objects.filter(pk=known["points"]["generalists"].pk).update(
        text="**Loud** [click](https://evil.example) <script>x</script>"
    )
    client.force_login(organiser)
    md = _get(client, "export_markdown", event).content.decode()
    assert r"\*\*Loud\*\* \[click\](https\://evil\.example) \<script\>x\</script\>" in md


def test_exports_are_downloads_that_no_cache_keeps(client, event, known, organiser):
    client.force_login(organiser)
    for name, kind in zip(EXPORTS, ("text/markdown", "text/csv", "text/csv"), strict=True):
        response = _get(client, name, event)
        assert response["Content-Type"] == f"{kind}; charset=utf-8"
        assert response["Content-Disposition"].startswith('attachment; filename="test-debate-')
        assert "no-store" in response["Cache-Control"]


def test_the_vote_csv_numbers_voters_afresh_and_names_nobody(client, event, known, organiser):
    client.force_login(organiser)
    first = _rows(_get(client, "export_votes", event))
    second = _rows(_get(client, "export_votes", event))
    # No vote times: a vote with its time is one person's vote at a known moment.
    assert list(first[0]) == ["voter", "poll", "side"]
    assert len(first) == 16 + 21
    # 21 people voted at least once; they are 1..21, in a new random order each export.
    assert sorted({int(r["voter"]) for r in first}) == list(range(1, 22))

    def ballots(rows):
        by_voter = {}
        for r in rows:
            by_voter.setdefault(r["voter"], {})[r["poll"]] = r["side"]
        return by_voter

    assert ballots(first) != ballots(second)
    raw = _get(client, "export_votes", event).content.decode()
    for attendee in known["attendees"]:
        assert attendee.token not in raw and attendee.display_name not in raw


def test_the_vote_csv_rebuilds_the_transition_table(client, event, known, organiser):
    client.force_login(organiser)
    by_voter: dict[str, dict[str, str]] = {}
    for r in _rows(_get(client, "export_votes", event)):
        by_voter.setdefault(r["voter"], {})[r["poll"]] = r["side"]
    pairs = Counter((v["pre_vote"], v["final_vote"]) for v in by_voter.values() if len(v) == 2)
    assert pairs == {
        ("for", "for"): 5,
        ("for", "against"): 1,
        ("for", "undecided"): 1,
        ("against", "for"): 2,
        ("against", "against"): 3,
        ("undecided", "for"): 2,
        ("undecided", "against"): 1,
        ("undecided", "undecided"): 1,
    }


def test_the_points_csv_holds_every_point_marked_and_no_author(client, event, known, organiser):
    Point.objects.filter(pk=known["points"]["range"].pk).update(text='=HYPERLINK("x")')
    client.force_login(organiser)
    rows = _rows(_get(client, "export_points", event))
    assert list(rows[0]) == [
        "point",
        "theme",
        "side",
        "text",
        "upvotes",
        "highlighted",
        "status",
        "merged_into",
        "room",
        "created_at",
    ]
    assert Counter(r["status"] for r in rows) == {"visible": 5, "hidden": 1, "merged": 1}
    merged = next(r for r in rows if r["status"] == "merged")
    assert merged["merged_into"] == str(known["points"]["jargon"].pk)
    # A cell a spreadsheet would run as a formula is defused.
    assert '\'=HYPERLINK("x")' in [r["text"] for r in rows]
    raw = _get(client, "export_points", event).content.decode()
    assert not [name for name in NAMES if name in raw]


@pytest.mark.parametrize("name", EXPORTS)
def test_exports_are_for_the_event_team_only(client, event, known, stranger_user, host_user, name):
    assert _get(client, name, event).status_code == 403
    client.force_login(stranger_user)
    assert _get(client, name, event).status_code == 403
    client.force_login(host_user)
    assert _get(client, name, event).status_code == 200
