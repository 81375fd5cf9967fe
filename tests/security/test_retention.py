"""How long attendee data is kept: votes and points stay with the event, but 30 days after it
the people behind them are forgotten (names blanked, secret tokens replaced)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from debates import selectors
from debates.models import Point, PollKind, Vote
from debates.selectors import ATTENDEE_SESSION_KEY
from debates.services import points, rounds, voting
from events.models import Attendee, Side
from events.services import ANONYMISED_TOKEN_PREFIX, ATTENDEE_DATA_DAYS
from tests.conftest import make_attendee, make_event

pytestmark = pytest.mark.django_db


def held(organiser, days_ago: float, title: str):
    """An event that ended `days_ago` days ago, with two named attendees, votes and a point."""
    start = timezone.now() - timedelta(days=days_ago, hours=2)
    event = make_event(organiser, title=title, starts_at=start, ends_at=start + timedelta(hours=2))
    ada, bo = make_attendee(event, "Ada Lovelace"), make_attendee(event, "Bo")
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    voting.vote_cast(poll=poll, attendee=ada, side=Side.FOR)
    voting.vote_cast(poll=poll, attendee=bo, side=Side.AGAINST)
    theme = event.themes.create(name="Careers")
    room = rounds.round_start(event=event, rooms=1, minutes=10).rooms.get()
    points.point_add(room=room, attendee=ada, theme=theme, side=Side.FOR, text="Depth")
    return event, poll, ada


def test_attendees_of_old_events_are_forgotten_and_their_votes_kept(organiser, client):
    old, old_poll, ada = held(organiser, ATTENDEE_DATA_DAYS + 1, "Long ago")
    _, _, recent_ada = held(organiser, ATTENDEE_DATA_DAYS - 1, "Last week")
    tally_before = selectors.poll_snapshot(poll_id=old_poll.pk).counts
    session = {ATTENDEE_SESSION_KEY: {str(old.pk): ada.token}}

    call_command("anonymise_attendees")

    forgotten = Attendee.objects.filter(event=old)
    assert [a.display_name for a in forgotten] == ["", ""]
    assert all(a.token.startswith(ANONYMISED_TOKEN_PREFIX) for a in forgotten)
    assert len({a.token for a in forgotten}) == 2
    # The browser that voted can no longer be linked to its votes...
    assert selectors.attendee_for_session(event=old, session=session) is None
    # ...while the tally, the votes and the points are the event's still.
    assert selectors.poll_snapshot(poll_id=old_poll.pk).counts == tally_before
    assert Vote.objects.filter(poll=old_poll).count() == 2
    assert Point.objects.get(event=old).text == "Depth"
    client.force_login(organiser)
    summary = client.get(reverse("recaps:summary", args=[old.slug]))
    assert summary.status_code == 200 and "Ada Lovelace" not in summary.content.decode()

    recent_ada.refresh_from_db()
    assert recent_ada.display_name == "Ada Lovelace"  # not yet
    assert not recent_ada.token.startswith(ANONYMISED_TOKEN_PREFIX)


def test_running_it_again_changes_nothing(organiser, capsys):
    held(organiser, ATTENDEE_DATA_DAYS + 5, "Long ago")
    call_command("anonymise_attendees")
    tokens = set(Attendee.objects.values_list("token", flat=True))
    call_command("anonymise_attendees")
    assert "0 attendee(s) anonymised." in capsys.readouterr().out
    assert set(Attendee.objects.values_list("token", flat=True)) == tokens


def test_an_event_without_an_end_counts_from_its_start(organiser):
    event = make_event(organiser, starts_at=timezone.now() - timedelta(days=40))
    make_attendee(event, "Cy")
    call_command("anonymise_attendees", days=30)
    assert Attendee.objects.get().display_name == ""
