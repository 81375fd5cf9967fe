"""The interface's language in a real browser: the footer's switch (keyboard only) turns the
page French and it stays French from page to page; a browser set to French gets French first."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_the_switch_turns_the_page_french_and_the_next_pages_stay_french(people):
    from playwright.sync_api import expect

    page = people.open("reader", path="/join/?code=ABC123", locale="en-GB")
    expect(page.locator("html")).to_have_attribute("lang", "en-gb")
    expect(page.get_by_label("Event code")).to_have_value("ABC123")

    # By keyboard, as someone without a mouse would: focus the button, press Enter.
    switch = page.get_by_role("button", name="Français")
    switch.focus()
    page.keyboard.press("Enter")

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page).to_have_url(re.compile(r"/join/\?code=ABC123$"))  # the same page
    expect(page.get_by_label("Code de l’événement")).to_have_value("ABC123")
    expect(page.get_by_role("button", name="English")).to_be_visible()  # the way back

    page.locator("a.brand").click()  # on to the home page
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Débats en direct")
    expect(page.get_by_role("link", name="Rejoindre un événement")).to_be_visible()
    assert people.problems() == {}


def test_a_browser_set_to_french_gets_french_without_choosing(people):
    from playwright.sync_api import expect

    page = people.open("lectrice", path="/", locale="fr-FR")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("link", name="Rejoindre un événement")).to_be_visible()
    expect(page.get_by_role("link", name="Join an event")).to_have_count(0)
    assert people.problems() == {}


def test_a_french_phone_at_an_english_event_keeps_its_stage_french_as_the_host_moves_on(
    people, site
):
    """The stage is pushed to every socket of the event in one message: a page read in French
    shows the French one (the message carries each language the site speaks), from its first
    connect to every change the host makes."""
    from playwright.sync_api import expect

    from tests.browser.kit import read_screen

    event = site.event()  # run in English
    host = people.open("host", phone=False, path=f"/e/{event['slug']}/host/{event['host_key']}/")
    projector = people.open("projector", phone=False, path=event["projector"])
    _code, link = read_screen(projector)
    phone = people.open("lectrice", path=link, locale="fr-FR")
    phone.get_by_label("Votre nom (facultatif)").fill("Léa")
    phone.get_by_role("button", name="Rejoindre et voter").click()
    expect(phone.get_by_text("Vous participez sous le nom Léa.")).to_be_visible()
    stage = phone.locator("[data-stage]")
    expect(stage).to_contain_text("En ce moment :")  # after the socket's first message too
    expect(phone.locator("[data-phase-label]").first).to_have_text("Accueil")

    host.get_by_role("button", name="Open the Pre-vote").first.click()
    expect(projector.locator("[data-phase-label]").first).to_have_text("Pre-vote")
    expect(phone.locator("[data-phase-label]").first).to_have_text("Vote initial")
    expect(stage).to_contain_text("En ce moment :")
    expect(stage).not_to_contain_text("Now:")
    expect(phone.locator("html")).to_have_attribute("lang", "fr")
    assert people.problems() == {}, people.problems()
