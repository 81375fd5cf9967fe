"""The stage in a real browser: a host, two phones and the projector, through the speakers'
clock, the final vote kept for the reveal, the reveal itself, a switcher naming a point, and the
recap with the turns and the persuasive point at the threshold of five.

Eight more people (four switchers who name the same point, four who keep FOR) are seeded
through the services (site.script), as if they had voted on phones of their own: with Ada that
makes five switchers naming the point, the least the recap shows. Every step waits for what a
person would see, never for a fixed time.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.kit import (
    SCREENSHOTS,
    audit,
    axe_report,
    mark_loaded,
    read_screen,
    still_loaded,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

POINT = "Two minds find the bug before it ships."
TURNS = ("Opening FOR: Priya Raman", "Opening AGAINST: Tomasz Nowak")

SEED_TURNS_AND_POINT = """
from debates.models import Point
from events.models import Event, Side, Turn
event = Event.objects.get(slug={slug!r})
# Five seconds each, the shortest a turn may be: the test watches both run into overtime.
Turn.objects.create(event=event, label={first!r}, side=Side.FOR, seconds=5, position=0)
Turn.objects.create(event=event, label={second!r}, side=Side.AGAINST, seconds=5, position=1)
Point.objects.create(
    event=event, theme=event.themes.first(), side=Side.FOR, text={point!r}, highlighted=True
)
print(json.dumps({{"ok": True}}))
"""

# The eight others, through the same services the phones use. Step "pre": they join and vote;
# "final": they vote again; "mind": the four switchers name the point.
SEED_CROWD = """
from debates.models import Point, Poll, PollKind
from debates.services import persuasion, voting
from events.models import Attendee, Event
from events.services import attendee_join
event = Event.objects.get(slug={slug!r})
step = {step!r}
if step == "pre":
    for n in range(8):
        attendee_join(event=event, display_name=f"Seeded{{n}}")
people = list(Attendee.objects.filter(event=event, display_name__startswith="Seeded").order_by("pk"))
if step in ("pre", "final"):
    poll = Poll.objects.get(event=event, kind=PollKind.PRE_VOTE if step == "pre" else PollKind.FINAL_VOTE)
    for n, person in enumerate(people):
        side = "against" if (step == "pre" and n < 4) else "for"
        voting.vote_cast(poll=poll, attendee=person, side=side)
if step == "mind":
    point = Point.objects.get(event=event, text={point!r})
    for person in people[:4]:
        persuasion.mind_change_answer(attendee=person, point=point)
print(json.dumps({{"seeded": len(people)}}))
"""


def join(people, event, name, projector):
    _code, link = read_screen(projector)
    page = people.open(name, path=link)
    page.get_by_label("Your name (optional)").fill(name)
    page.get_by_role("button", name="Join and vote").click()
    expect(page.get_by_text(f"You are taking part as {name}.")).to_be_visible()
    expect(page.get_by_text("Live", exact=True)).to_be_attached()
    return page


def poll_card(page, label):
    return page.get_by_role("article", name=re.compile(rf"^{label}"))


def vote(page, label, button):
    poll_card(page, label).get_by_role("button", name=button).click()
    expect(poll_card(page, label).get_by_text("Vote saved.")).to_be_visible()


def host_closes(host, label):
    """Closing a vote asks first, in the cockpit's confirmation dialog."""
    host.get_by_role("button", name=f"Close the {label}", exact=True).click()
    dialog = host.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Yes, close the vote", exact=True).click()
    expect(dialog).to_have_count(0)
    # The dialog closes before the answer lands; wait for it, or a choice made next in the
    # votes panel would be swapped away with it.
    expect(host.get_by_role("button", name=f"Undo: reopen the {label}", exact=True)).to_be_visible()


def clock_of(page):
    return page.locator(".clock[data-clock]").first


def accessible(page, name, axe_source):
    violations = audit(page, name, axe_source)
    assert violations == [], axe_report(name, violations)


def test_the_clock_the_reveal_and_what_changed_minds(people, site, axe_source):
    event = site.event()
    slug = event["slug"]
    site.script(
        SEED_TURNS_AND_POINT.format(slug=slug, first=TURNS[0], second=TURNS[1], point=POINT)
    )
    host = people.open("host", phone=False, path=f"/e/{slug}/host/{event['host_key']}/")
    expect(host.get_by_role("heading", name=re.compile("Host console"))).to_be_visible()
    projector = people.open("projector", phone=False, path=event["projector"])
    projector.set_viewport_size({"width": 1366, "height": 900})
    ada = join(people, event, "Ada", projector)  # will switch from AGAINST to FOR
    ben = join(people, event, "Ben", projector)  # stays FOR
    screens = {"projector": projector, "Ada": ada, "Ben": ben}
    for page in (*screens.values(), host):
        mark_loaded(page)

    # --- the speakers' clock: two turns, each into overtime, on every screen at once. The
    # opening statements bring the cockpit's clock panel forward by themselves.
    host.get_by_role("button", name="Next: Opening statements").click()
    expect(host.get_by_role("tab", name="Clock and reveal")).to_have_attribute(
        "aria-selected", "true"
    )
    clock_panel = host.get_by_role("region", name="Speakers' clock")
    clock_panel.get_by_role("button", name="Start the clock").click()
    for page in screens.values():
        expect(clock_of(page)).to_be_visible()
        expect(clock_of(page)).to_contain_text(TURNS[0])
        expect(clock_of(page).locator("[data-clock-time]")).to_have_text(re.compile(r"^\+?0:\d\d$"))
    accessible(ada, "stage-clock-phone", axe_source)
    for page in (*screens.values(), host):
        # Five seconds later, counted by each screen itself: overtime, shown with a plus.
        expect(clock_of(page).get_by_text("Overtime")).to_be_visible()
        expect(clock_of(page).locator("[data-clock-time]")).to_have_text(re.compile(r"^\+0:\d\d$"))
    clock_panel.get_by_role("button", name="Next turn").click()
    for page in screens.values():
        expect(clock_of(page)).to_contain_text(TURNS[1])
        expect(clock_of(page).get_by_text("Up next")).to_be_visible()
    clock_panel.get_by_role("button", name="Start the turn").click()
    expect(clock_panel.get_by_text("This is the last turn.")).to_be_visible()
    for page in screens.values():
        expect(clock_of(page).get_by_text("Overtime")).to_be_visible()
    accessible(host, "stage-console-clock", axe_source)
    clock_panel.get_by_role("button", name="Next turn").click()
    for page in screens.values():
        expect(clock_of(page)).to_be_hidden()

    # --- the pre-vote, from the votes' tab
    host.get_by_role("tab", name="Votes").click()
    host.get_by_role("button", name="Open the Pre-vote").click()
    vote(ada, "Pre-vote", "Vote AGAINST")
    vote(ben, "Pre-vote", "Vote FOR")
    site.script(SEED_CROWD.format(slug=slug, step="pre", point=POINT))
    host_closes(host, "Pre-vote")
    # Screen readers hear the close, with the poll's name and plain percent signs.
    for page in (projector, ada):
        expect(page.locator("[data-announcer]")).to_have_text(
            re.compile(
                r"^The poll is closed\. Pre-vote: for \d+%, against \d+%, undecided \d+%, \d+ votes\.$"
            )
        )

    # --- the final vote, kept from the room until the reveal
    host.get_by_label("Attendees see results").last.select_option(label="Only at the reveal")
    host.get_by_role("button", name="Open the Final vote").click()
    for page in screens.values():
        expect(poll_card(page, "Final vote")).to_be_visible()
    vote(ada, "Final vote", "Vote FOR")
    vote(ben, "Final vote", "Vote FOR")
    site.script(SEED_CROWD.format(slug=slug, step="final", point=POINT))
    host_closes(host, "Final vote")
    # The current vote is on top of the projector, its result still hidden.
    final = poll_card(projector, "Final vote")
    expect(final.get_by_text("Results are shown at the reveal.")).to_be_visible()
    expect(poll_card(projector, "Pre-vote")).to_be_hidden()
    expect(final).to_be_in_viewport(ratio=1)  # 1366x900: nothing of it below the fold

    # --- Ada changed her mind: her phone asks once, she names the point in one tap
    question = ada.get_by_role("article", name="You changed your mind. What moved you?")
    expect(question).to_be_visible()
    expect(ben.get_by_text("You changed your mind.")).to_have_count(0)
    accessible(ada, "stage-mind-phone", axe_source)
    question.get_by_role("button", name=POINT).click()
    expect(ada.get_by_text("Thank you: your answer is counted, anonymously.")).to_be_visible()
    site.script(SEED_CROWD.format(slug=slug, step="mind", point=POINT))

    # --- the reveal: projector and phones together, the IQ2 winner and the verdict. The
    # final vote's phase keeps the votes' panel forward: the host opens the reveal's tab.
    host.get_by_role("tab", name="Clock and reveal").click()
    host.get_by_role("button", name="Reveal the result").click()
    for page in screens.values():
        panel = page.locator("[data-reveal]")
        expect(panel).to_be_visible()
        # Pre-vote FOR 5 of 10, final FOR 10 of 10: FOR +50.0, AGAINST -50.0 points.
        expect(panel.locator('[data-figure="reveal-winner"]')).to_have_text("For")
        expect(panel.locator('[data-figure="reveal-for-gain"]')).to_have_text("+50.0")
        expect(panel.locator('[data-figure="reveal-verdict"]')).to_have_text(
            "the motion was carried"
        )
        expect(panel.locator('[data-figure="reveal-swing"]')).to_have_text("+50.0")
        expect(panel.get_by_role("img", name="Who changed their mind")).to_be_visible()
    for size in ({"width": 1366, "height": 900}, {"width": 1920, "height": 1080}):
        projector.set_viewport_size(size)
        expect(projector.locator("[data-reveal] .reveal")).to_be_in_viewport(ratio=1)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        projector.screenshot(path=SCREENSHOTS / f"stage-reveal-projector-{size['width']}.png")
    accessible(ada, "stage-reveal-phone", axe_source)
    accessible(projector, "stage-reveal-projector", axe_source)
    for name, page in {**screens, "host": host}.items():
        assert still_loaded(page), f"{name}'s page reloaded"

    # --- the recap: the turns with their lengths, and the point five switchers named
    host.goto(f"/e/{slug}/summary/")
    stage = host.get_by_role("region", name="On stage")
    expect(stage).to_contain_text(POINT)
    expect(stage.locator('[data-figure="persuader-1-named"]')).to_have_text("5")
    turns = host.get_by_role("table", name="The speakers' turns, as they ran")
    for n, label in enumerate(TURNS, start=1):
        expect(turns.locator(f'[data-figure="turn-{n}-label"]')).to_have_text(label)
        expect(turns.locator(f'[data-figure="turn-{n}-planned"]')).to_have_text("0:05")

    assert people.problems() == {}, people.problems()
    assert site.errors() == []
