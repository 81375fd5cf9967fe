"""The console as a cockpit (issue 16), server side: the keys it lists, the confirmation steps
that work without JavaScript, what a closed poll offers, the time-up prompt, the end and its
undo, the recap panel. The browser half is tests/browser/test_cockpit.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from debates.models import BreakoutRound, PollKind
from debates.services import phases, rounds, voting
from events.models import Event, Phase, Side, Turn
from tests.conftest import make_attendee

pytestmark = pytest.mark.django_db


def console(client, event, query: str = "") -> str:
    response = client.get(reverse("debates:console", args=[event.slug]) + query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_console_lists_its_keys_and_marks_the_buttons_they_press(host_client, event):
    page = console(host_client, event)
    keys = page.split('id="shortcuts"', 1)[1].split("</p>", 1)[0]
    assert "<kbd>N</kbd>" in keys and "<kbd>O</kbd>" in keys and "<kbd>C</kbd>" in keys
    assert page.count('data-shortcut="n"') == 1 and "Next: Opening statements" in page
    assert page.count('data-shortcut="o"') == 1  # the pre-vote's open button, not the final's
    assert 'data-shortcut="c"' not in page  # nothing to close yet

    voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    page = console(host_client, event)
    assert page.count('data-shortcut="c"') == 1 and 'data-shortcut="o"' not in page


def panel_phases(page: str, panel: str) -> list[str]:
    tag = page.split(f'id="panel-{panel}"', 1)[1].split(">", 1)[0]
    return tag.split('data-panel-phases="', 1)[1].split('"', 1)[0].split()


def test_the_opening_statements_bring_the_clock_forward_when_there_are_turns(host_client, event):
    Turn.objects.create(event=event, label="Opening FOR", side=Side.FOR, seconds=60, position=0)
    page = console(host_client, event)
    assert "opening" in panel_phases(page, "stage")
    assert "opening" not in panel_phases(page, "votes")


def test_without_turns_the_opening_statements_keep_the_votes_panel(host_client, event):
    page = console(host_client, event)
    assert "opening" not in panel_phases(page, "stage")
    assert "opening" in panel_phases(page, "votes")


def test_closing_a_poll_asks_first_even_without_javascript(host_client, event):
    voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    page = console(host_client, event)
    # The button is a link to the confirmation step; the dialog is there, closed.
    assert 'href="?confirm=close-pre_vote#polls" data-confirm="close-pre_vote"' in page
    assert (
        'data-confirm-dialog="close-pre_vote" aria-labelledby="confirm-close-pre_vote-title">'
        in (page)
    )
    page = console(host_client, event, "?confirm=close-pre_vote")
    assert (
        'data-confirm-dialog="close-pre_vote" aria-labelledby="confirm-close-pre_vote-title" open>'
        in page
    )
    assert "Yes, close the vote" in page and '<form method="dialog">' in page


def test_after_a_close_the_way_on_leads_and_reopening_is_a_small_undo(host_client, event):
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    voting.poll_close(poll=poll)
    page = console(host_client, event)
    assert '<button type="submit" class="link">Undo: reopen the Pre-vote</button>' in page
    assert "Reopen the Pre-vote" not in page
    phase = Event.objects.get(pk=event.pk).phase
    assert phase == Phase.PRE_VOTE
    assert '<button type="submit" data-shortcut="n" aria-keyshortcuts="N">Next: Breakouts' in page


def test_ending_the_event_asks_first_and_can_be_undone_until_the_recap_is_out(host_client, event):
    phases.phase_set(event=event, phase=Phase.TAKEAWAYS)
    page = console(host_client, event)
    assert 'href="?confirm=end#phase" data-confirm="end" data-shortcut="n"' in page
    assert 'href="?confirm=end#phase" data-confirm="end">8. Ended</a>' in page
    assert 'data-confirm-dialog="end" aria-labelledby="confirm-end-title">' in page
    assert 'aria-labelledby="confirm-end-title" open>' in console(
        host_client, event, "?confirm=end"
    )

    phases.phase_set(event=event, phase=Phase.ENDED)
    page = console(host_client, event)
    assert "Undo: back to Takeaways" in page
    assert "Open the summary to publish the recap" in page
    Event.objects.filter(pk=event.pk).update(recap_published=True)
    assert "Undo: back to Takeaways" not in console(host_client, event)


def test_the_console_says_publishing_needs_the_end_first(host_client, event):
    page = console(host_client, event)
    assert "data-publish-needs-ended" in page
    assert "The recap can be published only once the event is “Ended”" in page
    phases.phase_set(event=event, phase=Phase.ENDED)
    assert "data-publish-needs-ended" not in console(host_client, event)


def _round_ending_in(event, seconds: int) -> BreakoutRound:
    for name in ("Ada", "Ben", "Cy", "Di"):
        make_attendee(event, name)
    round_ = rounds.round_start(event=event, rooms=2, minutes=10)
    BreakoutRound.objects.filter(pk=round_.pk).update(
        ends_at=timezone.now() + timedelta(seconds=seconds)
    )
    return round_


def test_the_time_up_prompt_shows_once_the_rooms_countdown_is_over(host_client, event):
    _round_ending_in(event, 60)
    panel = reverse("debates:console_panel", args=[event.slug, "timeup"])
    body = host_client.get(panel).content.decode()
    assert "Time is up in the rooms." in body and "data-time-up" in body
    assert body.split("data-time-up", 1)[1].split(">", 1)[0].endswith(" hidden")

    BreakoutRound.objects.update(ends_at=timezone.now() - timedelta(seconds=1))
    body = host_client.get(panel).content.decode()
    assert not body.split("data-time-up", 1)[1].split(">", 1)[0].endswith(" hidden")
    assert "Bring everyone back now" in body and "Add 2 minutes" in body


def test_no_round_no_time_up_prompt(host_client, event):
    body = host_client.get(reverse("debates:console_panel", args=[event.slug, "timeup"]))
    assert "Time is up" not in body.content.decode()


def test_the_countdown_restarts_with_a_button_that_says_so(host_client, event):
    _round_ending_in(event, 300)
    page = console(host_client, event)
    assert "Restart the countdown at" in page
    assert '<button type="submit" class="secondary">Restart the countdown</button>' in page
    assert '<button type="submit" class="secondary">minutes</button>' not in page


def test_the_figures_show_the_timer_and_the_open_votes_count(host_client, event):
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    ada = make_attendee(event, "Ada")
    voting.vote_cast(poll=poll, attendee=ada, side="for")
    body = host_client.get(reverse("debates:console_panel", args=[event.slug, "presence"]))
    html = body.content.decode()
    assert f'data-live-votes="{poll.pk}">1</strong> votes in the Pre-vote' in html
    assert "no breakout running" in html
    _round_ending_in(event, 300)
    html = host_client.get(reverse("debates:console_panel", args=[event.slug, "presence"]))
    assert "left in the rooms" in html.content.decode()


@pytest.mark.parametrize("panel", ["timeup", "recap"])
def test_the_new_panels_are_for_hosts_only(client, host_client, event, panel):
    url = reverse("debates:console_panel", args=[event.slug, panel])
    assert host_client.get(url).status_code == 200
    host_client.logout()
    assert client.get(url).status_code == 403
