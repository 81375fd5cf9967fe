"""Questions and reactions in a real browser (issue 15): a host, a projector and two phones.

Questions are asked (one anonymously, one with a name), upvoted, moderated (one hidden), pinned
(the projector shows it) and answered; reactions tapped on the phones arrive on the projector's
meter. Then axe-core on the new screens at phone and desktop width. Each step waits for what a
person would see, never for a fixed time.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.kit import audit, axe_report, read_screen

pytestmark = [pytest.mark.browser, pytest.mark.slow]

METER_TIMEOUT_MS = 20_000  # taps are flushed every 2 s and the meter is coalesced: a few s


def host_console(people, event):
    page = people.open("host", phone=False, path=f"/e/{event['slug']}/host/{event['host_key']}/")
    expect(page.get_by_role("heading", name=re.compile("Host console"))).to_be_visible()
    # The cockpit shows one panel at a time: the host opens the questions' tab.
    page.get_by_role("tab", name="Questions", exact=True).click()
    expect(page.get_by_role("heading", name="Questions from the audience")).to_be_visible()
    return page


def join(people, event, name, projector):
    _code, link = read_screen(projector)
    page = people.open(name, path=link)
    page.get_by_label("Your name (optional)").fill(name)
    page.get_by_role("button", name="Join and vote").click()
    expect(page.get_by_text(f"You are taking part as {name}.")).to_be_visible()
    expect(page.get_by_role("heading", name="Questions to the speakers")).to_be_visible()
    expect(page.get_by_text("Live", exact=True)).to_be_attached()
    return page


def ask(page, text, name=""):
    page.get_by_label("Your question").fill(text)
    if name:
        page.locator("#question-name").fill(name)
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page.locator("[data-question-list]").get_by_text(text)).to_be_visible()


def item(page, text):
    return page.locator("[data-question-list] li", has_text=text)


def console_item(host, text):
    # By its own text, not the merge menu's options that name the others.
    return host.locator("[data-console-question]", has=host.locator("p.point-text", has_text=text))


def test_questions_and_reactions_live_between_phones_projector_and_console(
    people, site, axe_source
):
    event = site.event()
    host = host_console(people, event)
    projector = people.open("projector", phone=False, path=event["projector"])
    ada = join(people, event, "Ada", projector)
    ben = join(people, event, "Ben", projector)

    # --- asked: anonymously and with a name; each phone sees the other's at once
    ask(ada, "Does pairing survive a remote team?")
    ask(ben, "Who reviews the pair?", name="Ben K.")
    ask(ada, "buy cheap watches")
    expect(item(ben, "Does pairing survive a remote team?")).to_contain_text("Anonymous")
    expect(item(ada, "Who reviews the pair?")).to_contain_text("Ben K.")
    expect(console_item(host, "Who reviews the pair?")).to_be_visible()

    # --- upvoted: Ada's upvote reaches Ben's phone; the list sorts by votes
    item(ada, "Who reviews the pair?").get_by_role("button").click()
    expect(item(ada, "Who reviews the pair?").get_by_role("button")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(item(ben, "Who reviews the pair?").locator("[data-upvote-count]")).to_have_text("1")
    expect(ben.locator("[data-question-list] li").first).to_contain_text("Who reviews the pair?")

    # --- moderated: the spam is hidden from every phone
    console_item(host, "buy cheap watches").get_by_role("button", name=re.compile("^Hide")).click()
    expect(item(ben, "buy cheap watches")).to_have_count(0)
    expect(item(ada, "buy cheap watches")).to_have_count(0)

    # --- pinned: the projector shows it, with the name its author gave
    console_item(host, "Who reviews the pair?").get_by_role(
        "button", name=re.compile("^Pin to the projector")
    ).click()
    pinned = projector.locator("[data-pinned-question]")
    expect(pinned).to_be_visible()
    expect(pinned.locator("[data-pinned-text]")).to_have_text("Who reviews the pair?")
    expect(pinned.locator("[data-pinned-name]")).to_have_text("Ben K.")
    expect(item(ada, "Who reviews the pair?")).to_contain_text("On the screen")

    # --- answered: off the projector, marked on the phones
    console_item(host, "Who reviews the pair?").get_by_role(
        "button", name=re.compile("^Mark answered")
    ).click()
    expect(pinned).to_be_hidden()
    expect(item(ben, "Who reviews the pair?")).to_contain_text("Answered")

    # --- reactions: taps on two phones arrive on the projector's meter
    ada.get_by_role("button", name="Agree", exact=True).click()
    ben.get_by_role("button", name="Agree", exact=True).click()
    ben.get_by_role("button", name="Unclear", exact=True).click()
    meter = projector.locator("[data-reaction-meter]")
    expect(meter.locator('[data-meter-figure="agree"]')).to_have_text("2", timeout=METER_TIMEOUT_MS)
    expect(meter.locator('[data-meter-figure="unclear"]')).to_have_text("1")
    expect(meter).to_be_visible()

    # --- axe on the new screens, at phone and desktop width
    for page, name in (
        (ada, "attendee-questions"),
        (projector, "projector-audience"),
        (host, "console-questions"),
    ):
        violations = audit(page, name, axe_source)
        assert violations == [], axe_report(name, violations)
    assert people.problems() == {}
