"""The projector in both themes at 1280x720 and 1920x1080, and the rough edges phones hit: the
end of the event and its recap arriving live, the connection banner, the point counter.

Screenshots: test-artifacts/screenshots/projector-<theme>-<width>x<height>.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.kit import (
    SCREENSHOTS,
    axe_report,
    axe_violations,
    mark_loaded,
    read_screen,
    still_loaded,
)
from tests.browser.test_cockpit import join

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = ({"width": 1280, "height": 720}, {"width": 1920, "height": 1080})
BACKGROUND = {"light": "rgb(255, 255, 255)", "dark": "rgb(0, 0, 0)"}


def background(page) -> str:
    return page.evaluate("() => getComputedStyle(document.body).backgroundColor")


def test_the_projector_has_a_light_and_a_dark_theme_that_fit_the_screen(people, site, axe_source):
    event = site.event()
    host = people.open("host", phone=False, path=f"/e/{event['slug']}/host/{event['host_key']}/")
    projector = people.open("projector", phone=False, path=event["projector"])
    ada = join(people, projector, "Ada")
    host.get_by_role("button", name="Open the Pre-vote").click()
    ada.get_by_role("button", name="Vote FOR").click()
    expect(projector.locator('[data-figure="for"]')).to_have_text("100% · 1")

    # The switch on the projector: no reload, and the choice stays with this browser.
    projector.get_by_role("link", name="Light", exact=True).click()
    expect(projector.locator("body")).to_have_class(re.compile(r"\btheme-light\b"))
    mark_loaded(projector)
    assert background(projector) == BACKGROUND["light"] and still_loaded(projector)
    projector.goto(f"/e/{event['slug']}/projector/")  # no ?theme: the stored choice
    expect(projector.locator("body")).to_have_class(re.compile(r"\btheme-light\b"))

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for theme in ("light", "dark"):
        projector.goto(f"/e/{event['slug']}/projector/?theme={theme}")
        expect(projector.locator('[data-figure="for"]')).to_have_text("100% · 1")
        assert background(projector) == BACKGROUND[theme]
        for size in SIZES:
            projector.set_viewport_size(size)
            name = f"projector-{theme}-{size['width']}x{size['height']}"
            projector.screenshot(path=SCREENSHOTS / f"{name}.png")
            # Nothing important below the fold: the motion, the vote's bars, the way in.
            for what in (
                projector.get_by_role("heading", name=event["motion"]),
                projector.locator('[data-tally] [data-figure="undecided"]').first,
                projector.locator("[data-screen-code]"),
                projector.locator(".qr"),
            ):
                expect(what, f"{name}: {what} is below the fold").to_be_in_viewport(ratio=1)
        violations = axe_violations(projector, axe_source)
        assert violations == [], axe_report(f"projector ({theme})", violations)
    assert people.problems() == {}, people.problems()


def test_after_the_end_phones_and_the_projector_say_so_and_the_recap_arrives_live(people, site):
    event = site.event()
    host = people.open("host", phone=False, path=f"/e/{event['slug']}/host/{event['host_key']}/")
    projector = people.open("projector", phone=False, path=event["projector"])
    ada = join(people, projector, "Ada")
    for page in (ada, projector):
        mark_loaded(page)

    host.get_by_role("button", name="8. Ended", exact=True).click()
    host.get_by_role("dialog").get_by_role("button", name="End the event").click()

    expect(projector.get_by_text("This debate is over. Thank you for taking part.")).to_be_visible()
    expect(projector.get_by_text("Join and vote")).to_have_count(0)
    expect(projector.locator(".qr")).to_have_count(0)
    expect(projector.locator("[data-recap-coming]")).to_be_visible()
    coming = ada.get_by_text("The organisers will publish a recap of this debate here soon.")
    expect(coming).to_be_visible()
    # The ended card comes first on the phone, above the closed votes.
    thanks = ada.get_by_role("heading", name="Thank you for taking part")
    # Retried, like every expect: the page may still be laying out the cards it just swapped.
    expect(thanks).to_be_in_viewport(ratio=1)

    organiser = people.open("organiser", phone=False, path="/accounts/login/")
    organiser.get_by_label("Username").fill(event["organiser"]["username"])
    organiser.get_by_label("Password").fill(event["organiser"]["password"])
    organiser.get_by_role("button", name="Log in").click()
    organiser.goto(f"/e/{event['slug']}/summary/")
    organiser.get_by_role("button", name="Publish the recap").click()
    dialog = organiser.get_by_role("dialog")
    expect(dialog).to_contain_text("Publish the recap?")
    dialog.get_by_role("button", name="Yes, publish it").click()
    expect(organiser.get_by_text("Published", exact=True)).to_be_visible()

    # Pushed: no reload on the phone or the projector.
    expect(ada.get_by_role("link", name="Read the recap")).to_be_visible()
    expect(projector.locator("[data-recap-link]")).to_contain_text(f"/recaps/{event['slug']}/")
    assert still_loaded(ada) and still_loaded(projector)
    assert people.problems() == {}, people.problems()


# Lets a test drop the page's socket and refuse new ones, as a lost Wi-Fi would (an init script,
# which the page's CSP does not govern).
DROPPABLE_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__pbSockets = [];
  window.__pbRefuse = false;
  function Droppable(url, protocols) {
    const socket = new Native(window.__pbRefuse ? "ws://127.0.0.1:65001/" : url, protocols);
    window.__pbSockets.push(socket);
    return socket;
  }
  Droppable.prototype = Native.prototype;
  for (const name of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) Droppable[name] = Native[name];
  window.WebSocket = Droppable;
})();
"""


def test_a_phone_whose_socket_drops_shows_a_reconnecting_banner(people, site):
    event = site.event()
    projector = people.open("projector", phone=False, path=event["projector"])
    _code, link = read_screen(projector)
    ada = people.open("Ada")
    ada.add_init_script(DROPPABLE_SOCKETS)
    ada.goto(link)
    ada.get_by_role("button", name="Join and vote").click()
    banner = ada.locator("[data-connection]")
    expect(banner).to_have_attribute("data-state", "online")
    assert banner.bounding_box()["height"] < 30  # online: a quiet "Live"

    ada.evaluate("() => { window.__pbRefuse = true; window.__pbSockets.forEach(s => s.close()); }")
    expect(banner).to_have_attribute("data-state", "offline")
    expect(banner).to_have_text("Connection lost. Reconnecting…")
    expect(banner).to_be_in_viewport(ratio=1)
    height = banner.bounding_box()["height"]
    assert height >= 30, f"the banner is {height}px high: too easy to miss"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    ada.screenshot(path=SCREENSHOTS / "phone-reconnecting.png")
    # Coming back is live.js's reconnect, tested in tests/browser/test_live_client.py.


def test_the_point_counter_starts_again_after_a_point_is_added(people, site):
    event = site.event()
    host = people.open("host", phone=False, path=f"/e/{event['slug']}/host/{event['host_key']}/")
    projector = people.open("projector", phone=False, path=event["projector"])
    ada = join(people, projector, "Ada")
    join(people, projector, "Ben")
    host.get_by_role("tab", name="Breakout rooms").click()
    host.get_by_label("Number").fill("1")
    host.get_by_role("button", name="Start the breakouts").click()

    ada.get_by_label("For the motion").check()
    ada.get_by_label("Your point").fill("Pairs catch bugs early.")
    counter = ada.locator("#point-count")
    expect(counter).to_have_text("23 / 280")
    ada.get_by_role("button", name="Add to the board").click()
    expect(ada.locator("#board").get_by_text("Pairs catch bugs early.")).to_be_visible()
    expect(ada.get_by_label("Your point")).to_have_value("")
    expect(counter).to_have_text("0 / 280")
    # The board groups its points under their theme.
    expect(ada.locator("#board .board-theme").first).to_have_text("Speed")
    assert people.problems() == {}, people.problems()
