"""A whole event in a real browser: a host, a projector and six attendees, start to end.

Every person is a Chromium context of their own against a real daphne server; nothing is
set up behind the pages' backs after the event exists. Each step waits for what a person
would see (a figure on a tally, a point in a room), never for a fixed time.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.kit import mark_loaded, read_screen, still_loaded

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# name, how they join, pre-vote, final vote. Three by code, three by the link in the QR code;
# Dev and Esi are won over. Pre-vote 3-2-1 (FOR 50%), final 5-0-1 (FOR 83.3%): a +33.3 swing.
ATTENDEES = [
    ("Ada", "code", "for", "for"),
    ("Ben", "link", "for", "for"),
    ("Chloe", "code", "for", "for"),
    ("Dev", "link", "against", "for"),
    ("Esi", "code", "against", "for"),
    ("Finn", "link", "undecided", "undecided"),
]
PRE = {name: pre for name, _, pre, _ in ATTENDEES}
FINAL = {name: final for name, _, _, final in ATTENDEES}
TAKEAWAYS = [
    ("Pair on the risky change, review the rest", "Most rooms drew the line at blast radius."),
    ("Rotate pairs every day", "Knowledge spreads only if the pairs move."),
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


def attendee_joins(people, event, name, how, projector):
    page = people.open(name, phone=True)
    code, link = read_screen(projector)
    if how == "code":
        page.goto("/join/")
        # Typed as a person would read it off the screen: lower case, with a space.
        code = code.replace("-", "")
        page.get_by_label("Event code").fill(f"{code[:3].lower()} {code[3:].lower()}")
        page.get_by_label("Your name (optional)").fill(name)
        page.get_by_role("button", name="Join", exact=True).click()
    else:
        page.goto(link)  # the QR code on the screen, scanned
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


def host_clicks(host, name):
    host.get_by_role("button", name=name, exact=True).click()


def host_confirms(host, name, confirm):
    """A big effect (closing a vote, ending the event) asks first, in a dialog."""
    host.get_by_role("button", name=name, exact=True).click()
    dialog = host.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=confirm, exact=True).click()
    expect(dialog).to_have_count(0)


def host_opens_panel(host, name):
    """The console shows one panel at a time (its tabs); the current phase's comes by itself."""
    host.get_by_role("tab", name=name).click()


def phase_is(page, label):
    expect(page.locator("[data-phase-label]").first).to_have_text(label)


def vote(page, kind_label, side):
    button = poll_card(page, kind_label).get_by_role("button", name=VOTE_BUTTON[side])
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(poll_card(page, kind_label).get_by_text("Vote saved.")).to_be_visible()


def count(sides, votes):
    return {side: sum(1 for v in votes.values() if v == side) for side in sides}


def table_rows(table):
    """A table as a person reads it: each row's header and cells, as text."""
    return [
        [cell.strip() for cell in row.locator("th, td").all_inner_texts()]
        for row in table.get_by_role("row").all()
    ]


def test_a_host_runs_a_whole_event_with_six_attendees(people, site, tmp_path):
    event = site.event()
    host = host_logs_in(people, event)
    projector = people.open("projector", phone=False, path=event["projector"])
    expect(projector.get_by_role("heading", name=event["motion"])).to_be_visible()
    expect(projector.locator("[data-screen-code]")).to_have_text(re.compile(r"^\w{3}-\w{3}$"))

    # --- six people join on their phones: three type the code, three scan the QR code
    attendees = {
        name: attendee_joins(people, event, name, how, projector) for name, how, _, _ in ATTENDEES
    }
    presence = host.get_by_role("region", name="Who is here")
    expect(presence).to_contain_text(re.compile(r"6\s*attendees connected now"), timeout=20_000)
    expect(presence).to_contain_text(re.compile(r"6\s*joined in total"))

    # From here on no page may reload: everything arrives over the socket.
    watched = {"projector": projector, **attendees}
    for page in watched.values():
        expect(page.get_by_text("No vote yet.", exact=False)).to_be_visible()
        mark_loaded(page)
    mark_loaded(host)

    # --- the pre-vote: it opens on every page, and each vote moves every tally
    host_clicks(host, "3. Pre-vote")
    host.get_by_role("button", name="Open the Pre-vote").click()
    expect(host.get_by_role("button", name="Close the Pre-vote")).to_be_visible()
    for page in watched.values():
        expect(poll_card(page, "Pre-vote")).to_be_visible()
        phase_is(page, "Pre-vote")

    votes = {}
    for n, (name, _, side, _) in enumerate(ATTENDEES, start=1):
        vote(attendees[name], "Pre-vote", side)
        votes[name] = side
        tally = count(("for", "against", "undecided"), votes)
        expect_tally(projector, "Pre-vote", tally, n)
        # ... and on a neighbour's phone, who did nothing.
        expect_tally(attendees[ATTENDEES[n % 6][0]], "Pre-vote", tally, n)
    for page in watched.values():
        expect_tally(page, "Pre-vote", {"for": 3, "against": 2, "undecided": 1}, 6)
    expect(host.get_by_text("6 of 6 who joined have voted")).to_be_visible()
    host_confirms(host, "Close the Pre-vote", "Yes, close the vote")
    for page in watched.values():
        expect(poll_card(page, "Pre-vote").get_by_text("Closed", exact=True)).to_be_visible()

    # --- breakouts: two rooms, mixed by pre-vote side
    host_opens_panel(host, "Breakout rooms")
    rounds = host.get_by_role("region", name="Breakout rooms")
    rounds.get_by_label("Number").fill("2")
    rounds.get_by_label("Fill them").select_option(label="Mixed by pre-vote side")
    rounds.get_by_role("button", name="Start the breakouts").click()
    expect(rounds.get_by_text("Round 1 running")).to_be_visible()

    rooms: dict[str, list[str]] = {}
    for name, page in attendees.items():
        heading = page.get_by_role("heading", name=re.compile(r"^You are in "))
        expect(heading).to_be_visible()
        rooms.setdefault(heading.inner_text().removeprefix("You are in ").strip(), []).append(name)
    assert len(rooms) == 2, rooms
    for room, members in rooms.items():
        sides = {PRE[name] for name in members}
        assert {"for", "against"} <= sides, f"{room} is not mixed by side: {members}"
        for name in members:
            # "In your room": the first list of the room's card; "(you)" marks oneself.
            card = attendees[name].get_by_role("region", name=f"You are in {room}")
            listed = card.get_by_role("list").first.get_by_role("listitem").all_inner_texts()
            names = sorted(re.sub(r"\s*\(you\)$", "", text.strip()) for text in listed)
            assert names == sorted(members), (name, listed)
    phase_is(projector, "Breakouts")

    # --- each room writes a point; room-mates see it arrive, the other room does not
    (room_a, members_a), (room_b, members_b) = sorted(rooms.items())
    points = {
        room_a: ("Speed", "for", "Two minds find the bug before it ships."),
        room_b: ("Quality", "against", "A reviewer reads the code cold, as the next person will."),
    }
    for room, members in ((room_a, members_a), (room_b, members_b)):
        theme, side, text = points[room]
        writer = attendees[members[0]]
        writer.get_by_label("Theme").select_option(label=theme)
        writer.get_by_label("For the motion" if side == "for" else "Against the motion").check()
        writer.get_by_label("Your point").fill(text)
        writer.get_by_role("button", name="Add to the board").click()
        for name in members:
            expect(attendees[name].get_by_text(text)).to_be_visible()
    for text, outsiders in ((points[room_a][2], members_b), (points[room_b][2], members_a)):
        for name in outsiders:
            expect(attendees[name].get_by_text(text)).to_have_count(0)

    # --- everyone comes back; the host highlights both points, which reach every screen
    host.once("dialog", lambda dialog: dialog.accept())
    rounds.get_by_role("button", name="Bring everyone back").click()
    for page in watched.values():
        phase_is(page, "Plenary")
    plenary = host.get_by_role("region", name="Points from the rooms")
    for _, _, text in points.values():
        point = plenary.get_by_role("listitem").filter(has_text=text)
        point.get_by_role("button", name="Highlight").click()
        expect(point.get_by_text("Highlighted")).to_be_visible()
    for page in (projector, attendees["Ada"], attendees["Finn"]):
        for _, _, text in points.values():
            expect(page.get_by_text(text)).to_be_visible()

    # --- the final vote: Dev and Esi change sides
    host_clicks(host, "6. Final vote")
    host.get_by_role("button", name="Open the Final vote").click()
    for page in watched.values():
        expect(poll_card(page, "Final vote")).to_be_visible()
    votes = {}
    for n, (name, _, _, side) in enumerate(ATTENDEES, start=1):
        vote(attendees[name], "Final vote", side)
        votes[name] = side
        expect_tally(projector, "Final vote", count(("for", "against", "undecided"), votes), n)
    for page in watched.values():
        expect_tally(page, "Final vote", {"for": 5, "against": 0, "undecided": 1}, 6)
        expect_tally(page, "Pre-vote", {"for": 3, "against": 2, "undecided": 1}, 6)
    host_confirms(host, "Close the Final vote", "Yes, close the vote")
    expect(poll_card(projector, "Final vote").get_by_text("Closed", exact=True)).to_be_visible()

    # --- takeaways, then the end
    host_clicks(host, "7. Takeaways")
    board = host.get_by_role("region", name="Takeaways")
    add = board.get_by_role("form", name="Add a takeaway")
    for title, detail in TAKEAWAYS:
        # Its own form: each takeaway below it has an edit form with the same labels.
        add.get_by_label("Headline").fill(title)
        add.get_by_label("Detail (optional)").fill(detail)
        add.get_by_role("button", name="Add takeaway").click()
        expect(board.get_by_role("listitem").filter(has_text=title)).to_be_visible()
    for page in (projector, attendees["Chloe"]):
        for title, _ in TAKEAWAYS:
            expect(page.get_by_text(title)).to_be_visible()
    host_confirms(host, "8. Ended", "End the event")
    for page in watched.values():
        phase_is(page, "Ended")

    for name, page in {**watched, "host": host}.items():
        assert still_loaded(page), f"{name}'s page reloaded"

    # --- the organiser reads the summary: the swing and who moved where
    organiser = people.open("organiser", phone=False, path="/accounts/login/")
    organiser.get_by_label("Username").fill(event["organiser"]["username"])
    organiser.get_by_label("Password").fill(event["organiser"]["password"])
    organiser.get_by_role("button", name="Log in").click()
    organiser.goto(f"/e/{event['slug']}/summary/")
    expect(organiser.get_by_role("heading", name=event["title"])).to_be_visible()
    result = organiser.get_by_role("region", name="The result")
    expect(result).to_contain_text("Swing: +33.3 points")
    expect(result).to_contain_text("from 50.0% in the pre-vote to 83.3% in the final vote")
    transitions = organiser.get_by_role(
        "table", name="Rows: the pre-vote. Columns: the final vote."
    )
    assert table_rows(transitions) == [
        ["Pre-vote side", "For", "Against", "Undecided", "Total"],
        ["For", "3", "0", "0", "3"],
        ["Against", "2", "0", "0", "2"],
        ["Undecided", "0", "0", "1", "1"],
        ["Total", "5", "0", "1", "6"],
    ], table_rows(transitions)
    expect(result).to_contain_text("6 people who voted both times, 4 kept their side and 2 moved")

    # --- the Markdown export downloads, with the takeaways in it
    with organiser.expect_download() as download:
        organiser.get_by_role("link", name="Recap as Markdown").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    markdown = path.read_text()
    assert path.name == f"{event['slug']}-recap.md"
    assert "## Key takeaways" in markdown
    for n, (title, detail) in enumerate(TAKEAWAYS, start=1):
        assert f"{n}. **{title}**" in markdown
        assert detail in markdown
    for _, _, text in points.values():
        assert f"★ {text}" in markdown

    assert people.problems() == {}, people.problems()
    assert site.errors() == []
