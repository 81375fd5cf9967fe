"""axe-core on the pages people use, at phone and desktop width, and voting by keyboard alone.

Each page is checked in the state a person meets it in (the join form with a mistake in it, the
attendee page with a poll open and a vote cast, the console mid-event, the recap of a finished
event). Screenshots go to test-artifacts/screenshots/<page>-<phone|desktop>.png.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from bench.launcher import manage
from tests.browser.kit import audit, axe_report, read_screen

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def assert_accessible(page, name, axe_source):
    violations = audit(page, name, axe_source)
    assert violations == [], axe_report(name, violations)


def host_console(people, event):
    """The host, through the secret host link, on the console."""
    page = people.open("host", phone=False, path=f"/e/{event['slug']}/host/{event['host_key']}/")
    expect(page.get_by_role("heading", name=re.compile("Host console"))).to_be_visible()
    return page


def open_projector(people, event):
    return people.open("projector", phone=False, path=event["projector"])


def join_by_link(people, event, name, projector):
    """A phone scans the QR code on the projector."""
    _code, link = read_screen(projector)
    page = people.open(name, path=link)
    page.get_by_label("Your name (optional)").fill(name)
    page.get_by_role("button", name="Join and vote").click()
    expect(page.get_by_text(f"You are taking part as {name}.")).to_be_visible()
    return page


def test_the_join_pages_have_no_serious_axe_violations(people, site, axe_source):
    event = site.event()
    page = people.open("newcomer", path="/join/")
    expect(page.get_by_label("Event code")).to_be_focused()
    assert_accessible(page, "join", axe_source)

    # The page as it is after a mistake: the error must be announced and tied to the field.
    page.get_by_label("Event code").fill("NOPE00")
    page.get_by_role("button", name="Join", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("No event has that code")
    assert_accessible(page, "join-error", axe_source)

    # The event's printed link explains that the code is on the screen in the room.
    page.goto(f"/j/{event['code']}/")
    expect(page.get_by_role("heading", name=event["title"])).to_be_visible()
    assert_accessible(page, "join-link-closed", axe_source)

    # The QR code on the screen: the name form.
    _code, link = read_screen(open_projector(people, event))
    page.goto(link)
    expect(page.get_by_role("button", name="Join and vote")).to_be_visible()
    assert_accessible(page, "join-link", axe_source)
    assert people.problems() == {}


def test_the_live_pages_have_no_serious_axe_violations(people, site, axe_source):
    """The console, an attendee's phone and the projector during the pre-vote."""
    event = site.event()
    host = host_console(people, event)
    assert_accessible(host, "console-lobby", axe_source)

    projector = open_projector(people, event)
    ada = join_by_link(people, event, "Ada", projector)
    host.get_by_role("button", name="Open the Pre-vote").click()
    expect(host.get_by_role("button", name="Close the Pre-vote")).to_be_visible()
    vote_for = ada.get_by_role("button", name="Vote FOR")
    vote_for.click()
    expect(vote_for).to_have_attribute("aria-pressed", "true")
    expect(projector.locator('[data-figure="for"]')).to_have_text("100% · 1")
    expect(host.get_by_text("1 of 1 who joined have voted")).to_be_visible()

    assert_accessible(ada, "attendee", axe_source)
    assert_accessible(projector, "projector", axe_source)
    assert_accessible(host, "console", axe_source)
    assert people.problems() == {}


def test_the_breakout_and_plenary_pages_have_no_serious_axe_violations(people, site, axe_source):
    """A room with a point on its board; the plenary with it highlighted; a takeaway."""
    event = site.event()
    host = host_console(people, event)
    projector = open_projector(people, event)
    ada = join_by_link(people, event, "Ada", projector)
    ben = join_by_link(people, event, "Ben", projector)

    host.get_by_role("tab", name="Breakout rooms").click()  # one console panel at a time
    rounds = host.get_by_role("region", name="Breakout rooms")
    rounds.get_by_label("Number").fill("1")
    rounds.get_by_role("button", name="Start the breakouts").click()
    expect(rounds.get_by_text("Round 1 running")).to_be_visible()
    ada.get_by_label("Against the motion").check()
    ada.get_by_label("Your point").fill("Review leaves a written record; a pair leaves none.")
    ada.get_by_role("button", name="Add to the board").click()
    expect(ben.get_by_text("Review leaves a written record")).to_be_visible()
    assert_accessible(ben, "breakout", axe_source)
    ben.goto(f"/e/{event['slug']}/room/")
    expect(ben.get_by_text("Review leaves a written record")).to_be_visible()
    assert_accessible(ben, "breakout-room-page", axe_source)
    assert_accessible(projector, "projector-breakouts", axe_source)
    assert_accessible(host, "console-breakouts", axe_source)

    host.once("dialog", lambda dialog: dialog.accept())
    rounds.get_by_role("button", name="Bring everyone back").click()
    plenary = host.get_by_role("region", name="Points from the rooms")
    plenary.get_by_role("button", name="Highlight").click()
    expect(projector.get_by_text("Review leaves a written record")).to_be_visible()
    assert_accessible(projector, "projector-plenary", axe_source)
    host.get_by_role("tab", name="Takeaways").click()
    board = host.get_by_role("region", name="Takeaways")
    board.get_by_label("Headline").last.fill("Keep the written record")
    board.get_by_role("button", name="Add takeaway").click()
    expect(board.get_by_role("listitem").filter(has_text="Keep the written record")).to_be_visible()
    assert_accessible(host, "console-plenary", axe_source)
    assert people.problems() == {}


def test_the_recap_and_summary_of_a_finished_event_have_no_serious_axe_violations(
    people, site, axe_source
):
    # The demo's finished, published event has everything a recap can show: both votes,
    # several rooms, highlighted points, takeaways, resources.
    manage(site.env, "seed_demo")
    page = people.open("reader", path="/recaps/roadmaps-on-trial/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(
        page.get_by_role("table", name="Rows: the pre-vote. Columns: the final vote.")
    ).to_be_visible()
    assert_accessible(page, "recap", axe_source)

    page.goto("/accounts/login/?next=/e/roadmaps-on-trial/summary/")
    page.get_by_label("Username").fill("organiser")
    page.get_by_label("Password").fill("productbreaks-demo")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Organiser summary")).to_be_visible()
    assert_accessible(page, "summary", axe_source)
    assert people.problems() == {}


def test_voting_works_with_the_keyboard_alone(people, site):
    event = site.event()
    host = host_console(people, event)
    host.get_by_role("button", name="Open the Pre-vote").click()
    expect(host.get_by_role("button", name="Close the Pre-vote")).to_be_visible()
    page = join_by_link(people, event, "Kim", open_projector(people, event))
    vote_for = page.get_by_role("button", name="Vote FOR")
    vote_against = page.get_by_role("button", name="Vote AGAINST")
    expect(vote_for).to_be_visible()

    def tab_to(button, limit=40):
        for _ in range(limit):
            page.keyboard.press("Tab")
            if button.evaluate("el => el === document.activeElement"):
                # A keyboard user must see where they are.
                outline = button.evaluate(
                    "el => { const s = getComputedStyle(el);"
                    " return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0"
                    " || s.boxShadow !== 'none'; }"
                )
                assert outline, "the focused vote button shows no focus indicator"
                return
        raise AssertionError(f"{limit} presses of Tab never reached {button}")

    page.locator("body").focus()
    tab_to(vote_for)
    page.keyboard.press("Enter")
    expect(vote_for).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_text("Your vote: For")).to_be_visible()
    expect(host.locator('[data-figure="for"]').first).to_have_text("100% · 1")

    # Change it with Space from where the focus is now (still on the form after the answer).
    tab_to(vote_against)
    page.keyboard.press("Space")
    expect(vote_against).to_have_attribute("aria-pressed", "true")
    expect(vote_for).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_text("Your vote: Against")).to_be_visible()
    expect(host.locator('[data-figure="against"]').first).to_have_text("100% · 1")
    assert people.problems() == {}


def test_the_team_the_invitation_and_the_outbox_have_no_serious_axe_violations(
    people, site, axe_source
):
    """Issue 17's organiser pages, each as its person meets it: the team with an invitation
    out, the invitation asking a newcomer for a password, the outbox after that email."""
    event = site.event()
    organiser = people.open("organiser", phone=False, path="/accounts/login/")
    organiser.get_by_label("Username").fill(event["organiser"]["username"])
    organiser.get_by_label("Password").fill(event["organiser"]["password"])
    organiser.get_by_role("button", name="Log in").click()
    organiser.goto(f"/organiser/events/{event['slug']}/team/")
    organiser.get_by_label("Their email").fill("new.host@example.org")
    organiser.get_by_role("button", name="Send the invitation").click()
    expect(organiser.get_by_text("Invitation sent to new.host@example.org.")).to_be_visible()
    assert_accessible(organiser, "team", axe_source)
    link = organiser.locator('[data-invitation] input[type="text"]').input_value()

    newcomer = people.open("newcomer", path=urlsplit(link).path)  # the link is on SITE_URL
    expect(newcomer.get_by_label("New password", exact=True)).to_be_visible()
    assert_accessible(newcomer, "invitation", axe_source)

    organiser.goto(f"/organiser/events/{event['slug']}/outbox/")
    # Its recipients are listed under the mailing (folded away until opened).
    expect(organiser.locator("td", has_text="new.host@example.org")).to_have_count(1)
    assert_accessible(organiser, "outbox", axe_source)
    assert people.problems() == {}, people.problems()
