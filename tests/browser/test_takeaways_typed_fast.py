"""Issue 16, #10: three takeaways typed back to back, with no pause, all reach the list.

The race lived in the browser: the answer to the first takeaway replaced the whole panel, form
included, so a takeaway sent (or half typed) before that answer came was dropped with the old
form, and clearing the form on the answer wiped the one typed since. Every request here takes
a while to leave (a busy server or a slow Wi-Fi), so the next takeaway is always typed and sent
while the last is still on its way: before the fix, only the first one was kept.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Injected by the browser (not a page script, so the page's CSP does not apply): each request
# leaves 0.4 s after the page sends it.
SLOW_NETWORK = """
(() => {
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (body) {
    setTimeout(() => send.call(this, body), 400);
  };
})();
"""

COUNT_TAKEAWAYS = """
from debates.models import Takeaway
print(json.dumps(sorted(Takeaway.objects.filter(event__slug={slug!r}).values_list("title", flat=True))))
"""


def test_three_takeaways_typed_back_to_back_are_all_listed_and_the_next_is_kept(people, site):
    from playwright.sync_api import expect

    event = site.event()
    host = people.open("Host", phone=False)
    host.add_init_script(SLOW_NETWORK)
    host.goto(f"/e/{event['slug']}/host/{event['host_key']}/")
    expect(host.locator("[data-connection]")).to_have_attribute("data-state", "online")
    # The cockpit shows one panel at a time (static/js/console.js): a host opens its tab.
    host.get_by_role("tab", name="Takeaways").click()
    title = host.get_by_role("form", name="Add a takeaway").get_by_label("Headline")

    for n in (1, 2, 3):
        title.fill(f"Takeaway {n}")
        title.press("Enter")
    title.fill("Half typed")  # the next one, not sent yet

    listed = host.locator("ol.takeaways > li")
    expect(listed).to_have_count(3)
    for n in (1, 2, 3):
        expect(listed.nth(n - 1)).to_contain_text(f"Takeaway {n}")
    expect(title).to_have_value("Half typed")
    assert site.script(COUNT_TAKEAWAYS.format(slug=event["slug"])) == [
        "Takeaway 1",
        "Takeaway 2",
        "Takeaway 3",
    ]
    assert people.problems() == {}
