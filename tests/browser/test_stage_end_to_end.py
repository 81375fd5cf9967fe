"""The stage in a real browser (issue 15), one whole event: a host, two phones and the projector.

Questions are asked (one anonymously, one with a name), upvoted, moderated (one hidden), pinned
to the projector and answered; the speakers' clock runs two turns into overtime while reactions
tapped on the phones arrive on the projector's meter; the final vote is kept for the reveal,
which shows the IQ2 winner and the verdict on every screen; a switcher names a point; and the
summary lists the answered question, the turns, the reaction totals per turn and the persuasive
point at the threshold of five. Axe checks the new screens at phone and desktop width.

Eight more people (four switchers who name the same point, four who keep FOR) are seeded
through the services (site.script), as if they had voted on phones of their own: with Ada that
makes five switchers naming the point, the least the recap shows. Five more tap "agree" during
the first turn, so that turn's total stands behind five people. Every step waits for what a
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

# Five more people tap "agree" once each during the first turn, handed to the service the way a
# process's tally hands over its sums (debates.reaction_tally).
SEED_REACTIONS = """
from django.utils import timezone
from debates.services import reactions
from events.models import Event
event = Event.objects.get(slug={slug!r})
key = (event.pk, reactions.bucket_of(timezone.now()), "agree")
print(json.dumps({{"written": reactions.reactions_flush(sums={{key: (5, 5)}})}}))
"""

METER_TIMEOUT_MS = 20_000  # taps are flushed every 2 s and the meter is coalesced: a few s


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


# A whole event with four screens: well over a minute on a quiet machine, so twice the default.
@pytest.mark.timeout(600)
def test_questions_the_clock_reactions_the_reveal_and_what_changed_minds(people, site, axe_source):
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

    # --- questions. The host lists the answered ones in the recap (the cockpit's questions tab).
    host.get_by_role("tab", name="Questions", exact=True).click()
    host.get_by_label("The recap lists the answered questions").check()
    host.get_by_role("button", name="Save question settings").click()
    expect(host.get_by_label("The recap lists the answered questions")).to_be_checked()
    # Asked anonymously and with a name; each phone sees the other's at once.
    ask(ada, "Does pairing survive a remote team?")
    ask(ben, "Who reviews the pair?", name="Ben K.")
    ask(ada, "buy cheap watches")
    expect(item(ben, "Does pairing survive a remote team?")).to_contain_text("Anonymous")
    expect(item(ada, "Who reviews the pair?")).to_contain_text("Ben K.")
    expect(console_item(host, "Who reviews the pair?")).to_be_visible()
    # Upvoted: Ada's upvote reaches Ben's phone; the list sorts by votes.
    item(ada, "Who reviews the pair?").get_by_role("button").click()
    expect(item(ada, "Who reviews the pair?").get_by_role("button")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(item(ben, "Who reviews the pair?").locator("[data-upvote-count]")).to_have_text("1")
    expect(ben.locator("[data-question-list] li").first).to_contain_text("Who reviews the pair?")
    # Moderated: the spam is hidden from every phone.
    console_item(host, "buy cheap watches").get_by_role("button", name=re.compile("^Hide")).click()
    expect(item(ben, "buy cheap watches")).to_have_count(0)
    expect(item(ada, "buy cheap watches")).to_have_count(0)
    # Pinned: the projector shows it, with the name its author gave.
    console_item(host, "Who reviews the pair?").get_by_role(
        "button", name=re.compile("^Pin to the projector")
    ).click()
    pinned = projector.locator("[data-pinned-question]")
    expect(pinned).to_be_visible()
    expect(pinned.locator("[data-pinned-text]")).to_have_text("Who reviews the pair?")
    expect(pinned.locator("[data-pinned-name]")).to_have_text("Ben K.")
    expect(item(ada, "Who reviews the pair?")).to_contain_text("On the screen")
    for page, name in (
        (ada, "stage-questions-phone"),
        (projector, "stage-questions-projector"),
        (host, "stage-questions-console"),
    ):
        accessible(page, name, axe_source)
    # Answered: off the projector, marked on the phones.
    console_item(host, "Who reviews the pair?").get_by_role(
        "button", name=re.compile("^Mark answered")
    ).click()
    expect(pinned).to_be_hidden()
    expect(item(ben, "Who reviews the pair?")).to_contain_text("Answered")
    host.get_by_role("tab", name="Votes").click()

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

    # --- reactions during the first turn: taps on two phones arrive on the projector's meter
    ada.get_by_role("button", name="Agree", exact=True).click()
    ben.get_by_role("button", name="Agree", exact=True).click()
    ben.get_by_role("button", name="Unclear", exact=True).click()
    meter = projector.locator("[data-reaction-meter]")
    expect(meter.locator('[data-meter-figure="agree"]')).to_have_text("2", timeout=METER_TIMEOUT_MS)
    expect(meter.locator('[data-meter-figure="unclear"]')).to_have_text("1")
    expect(meter).to_be_visible()
    accessible(projector, "stage-reactions-projector", axe_source)
    site.script(SEED_REACTIONS.format(slug=slug))
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

    # --- the recap: the answered question, the turns with their lengths and their reaction
    # totals, and the point five switchers named
    host.goto(f"/e/{slug}/summary/")
    answered = host.get_by_role("region", name="Questions the speakers answered")
    expect(answered.locator("[data-answered-question]")).to_have_count(1)
    expect(answered).to_contain_text("Who reviews the pair?")
    expect(answered).to_contain_text("Ben K.")
    expect(answered).not_to_contain_text("Does pairing survive")  # asked, never answered
    reactions = host.get_by_role("table", name="Reaction taps during the debate")
    first, second = (reactions.locator("[data-reaction-window]", has_text=label) for label in TURNS)
    # Turn one: Ada, Ben and the five; Ben alone tapped "unclear", too few to show.
    expect(first.locator('[data-reaction-total="agree"]')).to_have_text("7")
    expect(first.locator('[data-reaction-total="unconvinced"]')).to_have_text("0")
    expect(first.locator('[data-reaction-total="unclear"]')).to_have_text("—")
    for kind in ("agree", "unconvinced", "unclear"):
        expect(second.locator(f'[data-reaction-total="{kind}"]')).to_have_text("0")
    stage = host.get_by_role("region", name="On stage")
    expect(stage).to_contain_text(POINT)
    expect(stage.locator('[data-figure="persuader-1-named"]')).to_have_text("5")
    turns = host.get_by_role("table", name="The speakers' turns, as they ran")
    for n, label in enumerate(TURNS, start=1):
        expect(turns.locator(f'[data-figure="turn-{n}-label"]')).to_have_text(label)
        expect(turns.locator(f'[data-figure="turn-{n}-planned"]')).to_have_text("0:05")

    assert people.problems() == {}, people.problems()
    assert site.errors() == []
