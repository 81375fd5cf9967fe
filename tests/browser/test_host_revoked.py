"""static/js/live.js on a console whose host link the organiser changed: it says so and stops."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A presence poll (every 5 s) that left between the link's change and the socket's news of it
# is refused, and htmx logs the refusal: that race is expected. Nothing is asked after the news.
PRESENCE_POLL = re.compile(
    r"^(403 for GET |console error: Response Status Error Code 403 from )"
    r".*/console/panels?/presence/?"
)


def test_a_console_whose_host_link_was_changed_says_so_and_stops_reconnecting(people, site):
    from playwright.sync_api import expect

    event = site.event()
    host = people.open("Host", phone=False, path=f"/e/{event['slug']}/host/{event['host_key']}/")
    expect(host.locator("[data-connection]")).to_have_attribute("data-state", "online")

    sockets: list[str] = []
    host.on("websocket", lambda ws: sockets.append(ws.url))

    organiser = people.open("Organiser", phone=False, path="/accounts/login/")
    organiser.get_by_label("Username").fill(event["organiser"]["username"])
    organiser.get_by_label("Password").fill(event["organiser"]["password"])
    organiser.get_by_role("button", name=re.compile("log in|sign in", re.I)).click()
    organiser.goto(f"/organiser/events/{event['slug']}/edit/")
    organiser.get_by_role("button", name=re.compile("Make a new host link")).click()

    alert = host.locator("[data-host-revoked]")
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_contain_text("Ask the organiser for the new host link.")
    expect(host.locator("[data-connection]")).to_be_hidden()
    # From now on the console asks nothing of the server: neither its polls nor a panel's fetch
    # (here the presence panel's, asked for by hand) would be answered but with a 403.
    asked: list[str] = []
    host.on("request", lambda request: asked.append(request.url))
    host.evaluate(
        "() => htmx.ajax('GET', document.querySelector('#presence').getAttribute('data-hx-get'),"
        " {source: '#presence', target: '#presence'})"
    )
    host.wait_for_timeout(1500)  # a reconnect starts within BACKOFF_MIN (0.5 s) of a close
    assert sockets == []
    assert asked == []
    assert host.locator("[data-host-revoked]").count() == 1
    problems = {
        name: [p for p in found if not PRESENCE_POLL.match(p)]
        for name, found in people.problems().items()
    }
    assert {name: found for name, found in problems.items() if found} == {}
