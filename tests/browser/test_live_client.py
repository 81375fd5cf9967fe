"""static/js/live.js in a real Chromium: live poll, socket vote, stale snapshots, reconnect."""

from __future__ import annotations

import json
import re
import time

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OPEN_POLL = """
from debates.services import voting
from debates.models import PollKind
from events.models import Event
event = Event.objects.get(slug={slug!r})
poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
print(json.dumps({{"poll": poll.pk, "version": poll.version}}))
"""


def tally(poll: int, version: int, counts: dict[str, int]) -> str:
    total = sum(counts.values())
    percent = {side: round(100 * n / total) if total else 0 for side, n in counts.items()}
    return json.dumps(
        {
            "type": "tally.updated",
            "poll": poll,
            "version": version,
            "kind": "pre_vote",
            "state": "open",
            "visible": True,
            "counts": counts,
            "total": total,
            "percent": percent,
        }
    )


def test_an_attendee_sees_the_poll_open_votes_over_the_socket_and_sees_the_tally(people, site):
    from playwright.sync_api import expect

    from tests.browser.kit import read_screen

    event = site.event()
    _code, link = read_screen(people.open("projector", phone=False, path=event["projector"]))
    page = people.open("Ada", path=link)
    page.get_by_role("button", name="Join and vote").click()
    expect(page.get_by_text("You are taking part as Anonymous")).to_be_visible()
    page.evaluate("() => { window.noReload = true; }")
    expect(page.locator("[data-connection]")).to_have_attribute("data-state", "online")

    # The host opens the pre-vote from the console (in the server: the page hears it).
    host = people.open("Host", phone=False, path=f"/e/{event['slug']}/host/{event['host_key']}/")
    host.get_by_role("button", name="Open the Pre-vote").click()
    expect(host.get_by_role("button", name="Close the Pre-vote")).to_be_visible()
    poll = int(host.locator("[data-poll-state]").first.get_attribute("data-poll-state"))

    vote_for = page.get_by_role("button", name="Vote FOR")
    expect(vote_for).to_be_visible()  # pushed, no reload
    vote_for.click()
    expect(page.locator(f'[data-your-vote="{poll}"]')).to_contain_text("Your vote: For")
    expect(vote_for).to_have_attribute("aria-pressed", "true")
    expect(page.locator(f'[data-tally="{poll}"] [data-figure="for"]')).to_have_text("100% · 1")
    assert page.evaluate("() => window.noReload") is True
    # The host's console follows the tally too (hosts get counts and turnout).
    expect(host.locator(f'[data-turnout="{poll}"]')).to_have_text("1 of 1 who joined have voted")
    assert people.problems() == {}


def test_stale_snapshots_are_ignored_and_the_page_reconnects_and_resyncs(people, site):
    from playwright.sync_api import expect

    event = site.event()
    opened = site.script(OPEN_POLL.format(slug=event["slug"]))
    poll, version = opened["poll"], opened["version"]
    sockets = []

    def fake_server(ws) -> None:
        sockets.append(ws)
        if len(sockets) == 1:
            ws.send(tally(poll, version + 5, {"for": 3, "against": 0, "undecided": 0}))
            # Older than what the page shows now (e.g. from a slower process): ignored.
            ws.send(tally(poll, version + 3, {"for": 1, "against": 1, "undecided": 0}))
        else:
            # On reconnect the server sends the current snapshot at once.
            ws.send(tally(poll, version + 6, {"for": 3, "against": 1, "undecided": 0}))

    page = people.open("Bo")
    page.route_web_socket(re.compile(r".*/ws/e/.*"), fake_server)
    page.goto(f"/e/{event['slug']}/")
    figures = page.locator(f'[data-tally="{poll}"]')
    expect(figures.locator('[data-figure="for"]')).to_have_text("100% · 3")
    expect(figures.locator('[data-figure="against"]')).to_have_text("0% · 0")
    expect(figures.locator("[data-tally-total]")).to_have_text("3 votes")
    fill = figures.locator('[data-fill="for"]')
    assert fill.evaluate("el => el.style.width") == "100%"

    sockets[0].close(code=1012)  # the server restarts
    expect(page.locator("[data-connection]")).to_have_attribute("data-state", "offline")
    deadline = time.monotonic() + 10
    while len(sockets) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(sockets) == 2, "the page did not reconnect by itself"
    expect(figures.locator('[data-figure="against"]')).to_have_text("25% · 1")
    expect(page.locator("[data-connection]")).to_have_attribute("data-state", "online")


ATTENDEE_WITH_OPEN_POLL = """
from django.contrib.sessions.backends.db import SessionStore
from debates.services import voting
from debates.models import PollKind
from debates.selectors import ATTENDEE_SESSION_KEY
from events.models import Event
from events.services import attendee_join
event = Event.objects.get(slug={slug!r})
poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
# A session as joining leaves it: independent of how the join page admits people.
attendee = attendee_join(event=event, display_name="Flo")
session = SessionStore()
session[ATTENDEE_SESSION_KEY] = {{str(event.pk): attendee.token}}
session.create()
print(json.dumps({{"poll": poll.pk, "session": session.session_key}}))
"""


def test_a_replaced_vote_stops_sending_and_a_4429_close_backs_off_and_says_why(people, site):
    from playwright.sync_api import expect

    event = site.event()
    made = site.script(ATTENDEE_WITH_OPEN_POLL.format(slug=event["slug"]))
    poll = made["poll"]
    sockets = []
    votes = []

    def fake_server(ws) -> None:
        sockets.append(ws)

        def on_message(text: str) -> None:
            message = json.loads(text)
            if message["type"] != "vote.cast":
                return
            votes.append(message)
            if len(votes) == 1:  # a newer vote (say, from another tab) took its place
                ws.send(json.dumps({"type": "vote.replaced", "ref": message["ref"], "poll": poll}))
            else:
                ws.close(code=4429)  # the server decided this page sends too much

        ws.on_message(on_message)

    page = people.open("Flo")
    page.context.add_cookies([{"name": "sessionid", "value": made["session"], "url": site.url}])
    page.route_web_socket(re.compile(r".*/ws/e/.*"), fake_server)
    page.goto(f"/e/{event['slug']}/")
    expect(page.locator("[data-connection]")).to_have_attribute("data-state", "online")
    status = page.locator(f'[data-vote-status="{poll}"]')
    form = page.locator(f'[data-vote-form="{poll}"]')

    page.get_by_role("button", name="Vote FOR").click()
    expect(status).to_have_text("A newer vote from you replaced this one.")
    expect(form).not_to_have_attribute("aria-busy", "true")

    page.get_by_role("button", name="Vote AGAINST").click()
    expect(page.locator("[data-connection]")).to_have_attribute("data-state", "throttled")
    expect(status).to_contain_text("sent too much too fast")
    expect(form).not_to_have_attribute("aria-busy", "true")
    # After any other close the page is back within 0.5-1 s; after 4429 it waits 60-120 s.
    page.wait_for_timeout(3000)
    assert len(sockets) == 1
    expect(page.locator("[data-connection]")).to_have_attribute("data-state", "throttled")


ATTENDEE_IN_A_ROOM = """
from django.contrib.sessions.backends.db import SessionStore
from debates.services import rounds
from debates.selectors import ATTENDEE_SESSION_KEY
from events.models import Event
from events.services import attendee_join
event = Event.objects.get(slug={slug!r})
attendee = attendee_join(event=event, display_name="Gil")
rounds.round_start(event=event, rooms=1, minutes=15, names=["Oak"])
session = SessionStore()
session[ATTENDEE_SESSION_KEY] = {{str(event.pk): attendee.token}}
session.create()
print(json.dumps({{"session": session.session_key}}))
"""


def test_a_refresh_of_the_room_keeps_the_theme_and_side_picked_for_a_point(people, site):
    """The room's panel is re-read when the socket says so (room.synced here); a theme and a
    side picked and not yet sent stay picked, though focus has left the form."""
    from playwright.sync_api import expect

    event = site.event()
    made = site.script(ATTENDEE_IN_A_ROOM.format(slug=event["slug"]))
    page = people.open("Gil")
    page.context.add_cookies([{"name": "sessionid", "value": made["session"], "url": site.url}])
    page.goto(f"/e/{event['slug']}/room/")
    expect(page.get_by_role("heading", name="You are in Oak")).to_be_visible()
    page.get_by_label("Theme").select_option(label="Quality")
    page.get_by_label("Against the motion").check()
    page.get_by_role("heading", name="You are in Oak").click()  # focus leaves the form
    page.evaluate("document.getElementById('point-theme').dataset.before = 'refresh'")
    page.evaluate(
        "document.querySelector('[data-live]').dispatchEvent("
        "new CustomEvent('live:message', {detail: {type: 'room.synced'}}))"
    )
    expect(page.locator("#point-theme[data-before]")).to_have_count(0)  # re-rendered
    expect(page.get_by_label("Theme")).to_have_value(re.compile(r"\d+"))
    assert page.get_by_label("Theme").evaluate("s => s.options[s.selectedIndex].text") == "Quality"
    expect(page.get_by_label("Against the motion")).to_be_checked()
    assert people.problems() == {}
