"""Organisers create and edit events, with their speakers, themes and resources, in the app."""

from __future__ import annotations

import pytest
from django.urls import reverse

from debates.models import Point
from events import forms
from events.models import Admission, Event, EventFormat, Resource, Side, Speaker, SpeakerRole, Theme

pytestmark = pytest.mark.django_db


def formset(prefix: str, rows: list[dict], initial: int = 0) -> dict[str, str]:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data.update({f"{prefix}-{i}-{key}": value for key, value in row.items()})
    return data


def event_data(**overrides: str) -> dict[str, str]:
    data = {
        "title": "Platform teams: help or hindrance?",
        "motion": "Platform teams slow product teams down.",
        "intro": "An evening of arguing, kindly.",
        "starts_at": "2031-03-04T18:30",
        "ends_at": "2031-03-04T20:30",
        "format": EventFormat.HYBRID,
        "venue": "The Old Library",
        "admission": Admission.SCREEN,
        "video_url": "https://meet.example.org/platforms",
        "room_video_pattern": "https://meet.jit.si/pb-{event}-{room}",
    }
    data |= overrides
    data |= formset(
        "speakers",
        [
            {
                "name": "Priya",
                "role": SpeakerRole.HOST,
                "side": Side.FOR,
                "affiliation": "",
                "statement": "",
                "account": "HOSTESS",
            },
            {"name": "", "role": "", "side": "", "affiliation": "", "statement": "", "account": ""},
        ],
    )
    data |= formset(
        "themes", [{"name": "Ownership", "prompt": ""}, {"name": "Speed", "prompt": ""}]
    )
    data |= formset("resources", [{"title": "Reading list", "url": "https://example.org/read"}])
    data |= formset("turns", [])  # left empty: built from the speakers (tests/events/test_turns.py)
    return data


def test_strangers_to_the_app_are_sent_to_log_in(client):
    response = client.get(reverse("events:event_new"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_an_organiser_creates_an_event_with_its_people_themes_and_links(
    client, organiser, host_user
):
    client.force_login(organiser)
    assert client.get(reverse("events:event_new")).status_code == 200

    response = client.post(reverse("events:event_new"), event_data())

    event = Event.objects.get(title="Platform teams: help or hindrance?")
    assert response.status_code == 302
    assert response.url == reverse("events:event_edit", args=[event.slug])
    assert event.organiser == organiser and len(event.join_code) == 6 and event.host_key
    [speaker] = event.speakers.all()
    assert (speaker.name, speaker.user, speaker.role) == ("Priya", host_user, SpeakerRole.HOST)
    assert [(t.name, t.position) for t in event.themes.all()] == [("Ownership", 0), ("Speed", 1)]
    assert [r.title for r in event.resources.all()] == ["Reading list"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ends_at": "2031-03-04T17:00"}, forms.EVENT_ENDS_BEFORE_START),
        ({"venue": ""}, forms.EVENT_VENUE_MISSING),
        ({"video_url": ""}, forms.EVENT_VIDEO_MISSING),
        ({"room_video_pattern": "https://meet.jit.si/all-of-us"}, forms.ROOM_PATTERN_NEEDS_ROOM),
        ({"room_video_pattern": "meet {room}"}, forms.ROOM_PATTERN_INVALID),
        ({"speakers-0-account": "nobody-here"}, forms.SPEAKER_ACCOUNT_UNKNOWN),
        ({"themes-1-name": "ownership"}, forms.THEME_NAME_TWICE),
    ],
)
def test_bad_event_details_are_refused_with_a_reason(client, organiser, overrides, message):
    client.force_login(organiser)
    data = event_data()
    data.update(overrides)
    response = client.post(reverse("events:event_new"), data)
    assert response.status_code == 400
    assert str(message) in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert not Event.objects.exists()


def test_the_organiser_edits_details_and_parts(client, organiser, event):
    resource = Resource.objects.create(event=event, title="Old", url="https://example.org/old")
    client.force_login(organiser)
    page = client.get(reverse("events:event_edit", args=[event.slug]))
    assert page.status_code == 200
    assert event.host_key in page.content.decode()  # the secret host link to hand over

    speakers = list(event.speakers.all())
    themes = list(event.themes.all())
    data = event_data(
        title="Renamed", format=EventFormat.VENUE, video_url="", admission=Admission.OPEN
    )
    data |= formset(
        "speakers",
        [
            {"id": str(s.pk), "name": s.name, "role": s.role, "side": s.side, "account": ""}
            for s in speakers
        ],
        initial=len(speakers),
    )
    # The second theme moves first; a new one is added at the end.
    data |= formset(
        "themes",
        [
            {"id": str(themes[1].pk), "name": themes[1].name},
            {"id": str(themes[0].pk), "name": "Domain depth"},
            {"name": "Hiring"},
        ],
        initial=2,
    )
    data |= formset(
        "resources",
        [{"id": str(resource.pk), "title": "Old", "url": resource.url, "DELETE": "on"}],
        initial=1,
    )
    response = client.post(reverse("events:event_edit", args=[event.slug]), data)

    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.title, event.format) == ("Renamed", EventFormat.VENUE)
    assert event.admission == Admission.OPEN  # the organiser opened the door
    assert [t.name for t in event.themes.order_by("position")] == [
        "Your career",
        "Domain depth",
        "Hiring",
    ]
    assert not event.resources.exists()
    # Clearing the account field unlinks the accounts: the speakers stay.
    assert event.speakers.count() == 2 and not event.speakers.filter(user__isnull=False).exists()


def test_a_theme_with_points_cannot_be_deleted(client, organiser, event):
    theme = event.themes.first()
    Point.objects.create(event=event, theme=theme, side=Side.FOR, text="Kept")
    client.force_login(organiser)
    data = event_data()
    data |= formset("speakers", [])
    data |= formset(
        "themes",
        [{"id": str(t.pk), "name": t.name, "DELETE": "on"} for t in event.themes.all()],
        initial=2,
    )
    response = client.post(reverse("events:event_edit", args=[event.slug]), data)
    assert response.status_code == 400
    assert "rename it rather than delete it" in response.content.decode()
    assert Theme.objects.filter(pk=theme.pk).exists()


@pytest.mark.parametrize("who", ["host", "moderator", "stranger"])
def test_only_the_organiser_edits(client, event, host_user, moderator_user, stranger_user, who):
    client.force_login(
        {"host": host_user, "moderator": moderator_user, "stranger": stranger_user}[who]
    )
    url = reverse("events:event_edit", args=[event.slug])
    assert client.get(url).status_code == 403
    assert client.post(url, event_data(title="Hijacked")).status_code == 403
    event.refresh_from_db()
    assert event.title != "Hijacked"


def test_an_attendee_cannot_edit(client, event, attendee):
    session = client.session
    session["attendees"] = {str(event.pk): attendee.token}
    session.save()
    response = client.post(reverse("events:event_edit", args=[event.slug]), event_data())
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_organiser_makes_a_new_host_link(client, organiser, event):
    old = event.host_key
    url = reverse("events:host_link_rotate", args=[event.slug])
    client.force_login(organiser)
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    event.refresh_from_db()
    assert event.host_key != old


@pytest.mark.parametrize("who", ["host", "stranger", "anonymous"])
def test_nobody_else_rotates_the_host_link(client, event, host_user, stranger_user, who):
    if who != "anonymous":
        client.force_login(host_user if who == "host" else stranger_user)
    old = event.host_key
    assert client.post(reverse("events:host_link_rotate", args=[event.slug])).status_code == 403
    event.refresh_from_db()
    assert event.host_key == old


def test_the_organiser_home_links_to_console_projector_summary_and_edit(
    client, organiser, host_user, event
):
    client.force_login(organiser)
    page = client.get(reverse("events:organiser_home")).content.decode()
    for name in ("debates:console", "debates:projector", "recaps:summary", "events:event_edit"):
        assert reverse(name, args=[event.slug]) in page

    client.force_login(host_user)
    page = client.get(reverse("events:organiser_home")).content.decode()
    assert reverse("debates:console", args=[event.slug]) in page
    assert reverse("events:event_edit", args=[event.slug]) not in page
    assert Speaker.objects.filter(event=event, user=host_user).exists()
