"""An event as a calendar entry (RFC 5545), for "Add to calendar": one VEVENT in the site's time
zone (settings.TIME_ZONE, with its VTIMEZONE so every calendar shows the right hour), a UID that
stays the same across downloads and edits (a calendar updates the entry instead of adding a
second), and where to be: the venue, and the page to join from. Not the video-call link: the
event's pages give it to those who joined, and an .ics is downloaded by anyone.

Built with `icalendar` (the field-made library: escaping, line folding and time zones are its
job, not ours).
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _
from icalendar import Calendar
from icalendar import Event as CalendarEvent

from events.models import Event

# An event without an end time is entered as this long (a debate evening).
DEFAULT_LENGTH = timedelta(hours=2)


def event_uid(event: Event, host: str) -> str:
    """Stable for the event on this site: its id and slug never change."""
    return f"event-{event.pk}-{event.slug}@{host}"


def event_calendar(event: Event, *, host: str, page_url: str, join_url: str) -> bytes:
    """The .ics of one event. `host` is the site's host name (the UID's domain); the URLs are
    absolute."""
    zone = ZoneInfo(settings.TIME_ZONE)
    starts = event.starts_at.astimezone(zone)
    ends = (event.ends_at or event.starts_at + DEFAULT_LENGTH).astimezone(zone)
    description = [event.motion, "", _("Join and vote: %(url)s") % {"url": join_url}]

    entry = CalendarEvent()
    entry.add("uid", event_uid(event, host))
    entry.add("dtstamp", event.updated_at)
    entry.add("last-modified", event.updated_at)
    entry.add("dtstart", starts)
    entry.add("dtend", ends)
    entry.add("summary", event.title)
    entry.add("description", "\n".join(description))
    entry.add("location", event.venue or _("Online: join from the link"))
    entry.add("url", page_url)

    calendar = Calendar()
    calendar.add("prodid", "-//productbreaks//live debates//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(entry)
    calendar.add_missing_timezones()
    return calendar.to_ical()
