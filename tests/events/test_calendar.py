"""An event's .ics ("Add to calendar", issue 17): parsed back with a calendar library, its times
in the site's time zone, a UID that stays the same, and where to be, without the call link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.urls import reverse

from events.calendar import DEFAULT_LENGTH
from events.models import Event
from events.templatetags.event_tags import join_url

pytestmark = pytest.mark.django_db

STARTS = datetime(2027, 3, 30, 17, 30, tzinfo=UTC)  # 18:30 in London: summer time has begun


def _ics(client, event: Event):
    response = client.get(reverse("events:event_ics", args=[event.slug]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{event.slug}.ics"'
    return icalendar.Calendar.from_ical(response.content)


def test_the_ics_holds_the_event_in_the_sites_time_zone_with_a_stable_uid(client, event, settings):
    settings.TIME_ZONE = "Europe/London"
    Event.objects.filter(pk=event.pk).update(
        starts_at=STARTS, ends_at=STARTS + timedelta(minutes=90), venue="The Old Library",
        video_url="https://meet.example.org/secret-room",
    )  # fmt: skip
    event.refresh_from_db()
    calendar = _ics(client, event)
    [entry] = calendar.walk("VEVENT")
    start, end = entry.decoded("dtstart"), entry.decoded("dtend")
    # The wall-clock hour a London calendar shows, and the same instants.
    assert (start.hour, start.minute, str(start.tzinfo)) == (18, 30, "Europe/London")
    assert start == STARTS and end == STARTS + timedelta(minutes=90)
    assert entry["dtstart"].params["TZID"] == "Europe/London"
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]
    assert str(entry["summary"]) == event.title
    assert str(entry["location"]) == "The Old Library"
    description = str(entry["description"])
    assert event.motion in description
    assert f"Join and vote: http://testserver{join_url(event)}" in description
    assert str(entry["url"]) == f"http://testserver/e/{event.slug}/"
    # Anyone may download it: the video-call link is for those who joined.
    assert b"secret-room" not in calendar.to_ical()
    # Downloaded again after an edit: the same entry, updated (same UID).
    Event.objects.filter(pk=event.pk).update(title="Moved upstairs")
    event.refresh_from_db()
    [again] = _ics(client, event).walk("VEVENT")
    assert str(again["uid"]) == str(entry["uid"]) == f"event-{event.pk}-{event.slug}@testserver"
    assert str(again["summary"]) == "Moved upstairs"


def test_an_event_without_an_end_is_entered_for_two_hours_online(client, event):
    Event.objects.filter(pk=event.pk).update(starts_at=STARTS, ends_at=None, venue="")
    event.refresh_from_db()
    [entry] = _ics(client, event).walk("VEVENT")
    assert entry.decoded("dtend") - entry.decoded("dtstart") == DEFAULT_LENGTH
    assert str(entry["location"]) == "Online: join from the link"
    assert entry.decoded("dtstart").astimezone(ZoneInfo("UTC")) == STARTS


def test_the_index_offers_each_upcoming_event_to_a_calendar(client, event):
    html = client.get(reverse("events:index")).content.decode()
    assert f'href="/events/{event.slug}/calendar.ics" download>Add to calendar</a>' in html


def test_an_unknown_event_has_no_calendar_entry(client):
    assert client.get(reverse("events:event_ics", args=["no-such-event"])).status_code == 404


def test_the_event_page_offers_its_calendar_entry_until_the_debate_starts(client, event):
    from debates.services import phases
    from events.models import Phase

    page = reverse("debates:event", args=[event.slug])
    ics = reverse("events:event_ics", args=[event.slug])
    assert event.phase == Phase.LOBBY
    assert ics in client.get(page).content.decode()
    phases.phase_set(event=event, phase=Phase.OPENING)
    assert ics not in client.get(page).content.decode()
