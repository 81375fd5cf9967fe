"""A whole event in a real browser: a host, a projector and six attendees, start to end.

Every person is a Chromium context of their own against a real daphne server; nothing is
set up behind the pages' backs after the event exists. Each step waits for what a person
would see (a figure on a tally, a point in a room), never for a fixed time.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.kit import mark_loaded, still_loaded

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# name, how they join, pre-vote. Three by code, three by the link in the QR code.
ATTENDEES = [
    ("Ada", "code", "for"),
    ("Ben", "link", "for"),
    ("Chloe", "code", "for"),
    ("Dev", "link", "against"),
    ("Esi", "code", "against"),
    ("Finn", "link", "undecided"),
]
VOTE_BUTTON = {"for": "Vote FOR", "against": "Vote AGAINST", "undecided": "Undecided"}


def host_logs_in(people, event):
    console = f"/e/{event['slug']}/console/"
    page = people.open("host", phone=False, path=f"/accounts/login/?next={console}")
    expect(page.get_by_role("heading", name="Organiser log in")).to_be_visible()
    page.get_by_label("Username").fill(event["host"]["username"])
    page.get_by_label("Password").fill(event["host"]["password"])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=re.compile("Host console"))).to_be_visible()
    return page


def attendee_joins(people, event, name, how):
    page = people.open(name, phone=True)
    if how == "code":
        page.goto("/join/")
        # Typed as a person would read it off the screen: lower case, with a space.
        code = event["code"]
        page.get_by_label("Event code").fill(f"{code[:3].lower()} {code[3:].lower()}")
        page.get_by_label("Your name (optional)").fill(name)
        page.get_by_role("button", name="Join", exact=True).click()
    else:
        page.goto(f"/j/{event['code']}/")
        expect(page.get_by_role("heading", name=event["title"])).to_be_visible()
        page.get_by_label("Your name (optional)").fill(name)
        page.get_by_role("button", name="Join and vote").click()
    expect(page).to_have_url(re.compile(rf"/e/{event['slug']}/$"))
    expect(page.get_by_text(f"You are taking part as {name}.")).to_be_visible()
    expect(page.get_by_text("Live", exact=True)).to_be_attached()
    return page


def poll_card(page, kind_label):
    return page.get_by_role("article", name=re.compile(rf"^{kind_label}"))


def expect_tally(page, kind_label, counts, total):
    """The tally a person reads on the page: 'NN% · count' per side, and the number of votes."""
    card = poll_card(page, kind_label)
    for side, count in counts.items():
        percent = round(100 * count / total) if total else 0
        figure = card.locator(f'[data-figure="{side}"]')
        expect(figure).to_have_text(f"{percent}% · {count}")
    expect(
        card.get_by_text(f"{total} vote" + ("" if total == 1 else "s"), exact=True)
    ).to_be_visible()


def test_a_host_runs_a_whole_event_with_six_attendees(people, site):
    event = site.event()
    host = host_logs_in(people, event)
    projector = people.open("projector", phone=False, path=f"/e/{event['slug']}/projector/")
    expect(projector.get_by_role("heading", name=event["motion"])).to_be_visible()
    expect(projector.get_by_text(event["code"][:3])).to_be_visible()

    attendees = {name: attendee_joins(people, event, name, how) for name, how, _ in ATTENDEES}
    presence = host.get_by_role("region", name="Who is here")
    expect(presence).to_contain_text(re.compile(r"6\s*attendees connected now"), timeout=20_000)
    expect(presence).to_contain_text(re.compile(r"6\s*joined in total"))

    # From here on no page may reload: everything arrives over the socket.
    watched = {"projector": projector, **attendees}
    for page in watched.values():
        expect(page.get_by_text("No vote yet.", exact=False)).to_be_visible()
        mark_loaded(page)

    # --- the pre-vote opens: every attendee sees it and the projector shows an empty tally
    host.get_by_role("button", name="Open the Pre-vote").click()
    expect(host.get_by_role("button", name="Close the Pre-vote")).to_be_visible()
    for page in watched.values():
        expect(poll_card(page, "Pre-vote")).to_be_visible()

    counts = {"for": 0, "against": 0, "undecided": 0}
    for (name, _, side), voted in zip(ATTENDEES, range(1, 7), strict=True):
        page = attendees[name]
        poll_card(page, "Pre-vote").get_by_role("button", name=VOTE_BUTTON[side]).click()
        expect(
            poll_card(page, "Pre-vote").get_by_role("button", name=VOTE_BUTTON[side])
        ).to_have_attribute("aria-pressed", "true")
        counts[side] += 1
        # Each vote moves the tally on the projector and on a neighbour's phone, unreloaded.
        expect_tally(projector, "Pre-vote", counts, voted)
        neighbour = attendees[ATTENDEES[(voted) % 6][0]]
        expect_tally(neighbour, "Pre-vote", counts, voted)

    for name, page in watched.items():
        expect_tally(page, "Pre-vote", counts, 6)
        assert still_loaded(page), f"{name}'s page reloaded"
    expect(host.get_by_text("6 of 6 who joined have voted")).to_be_visible()

    assert people.problems() == {}, people.problems()
    assert site.errors() == []
