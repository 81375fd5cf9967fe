"""The attendee's breakout room page, its board over HTTP, choosing a room, and the projector."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.timezone import localtime

from debates.models import AssignmentMode, Point, RoomMember
from debates.selectors import ATTENDEE_SESSION_KEY
from debates.services import phases, points, rounds, takeaways
from events.models import EventFormat, Phase, Side
from tests.conftest import make_attendee, make_event

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def as_attendee(attendee) -> Client:
    client = Client()
    session = client.session
    session[ATTENDEE_SESSION_KEY] = {str(attendee.event_id): attendee.token}
    session.save()
    return client


@pytest.fixture
def rooms(event):
    """Four attendees in two rooms of a running round, with the room names and tables set."""
    people = [make_attendee(event, name) for name in ("Ada", "Bo", "Cy", "Di")]
    round_ = rounds.round_start(
        event=event, rooms=2, minutes=10, names=["Oak", "Elm"], locations=["Table 1", "Bar"]
    )
    return round_, people


def room_url(event, **params) -> str:
    base = reverse("debates:room", args=[event.slug])
    return base + ("?part=board" if params.get("board") else "")


def test_an_attendee_sees_their_room_people_themes_place_and_timer(event, rooms):
    round_, people = rooms
    ada = people[0]
    room = RoomMember.objects.get(round=round_, attendee=ada).room
    mates = {m.display_name for m in room.members.all()}
    rounds.round_message(round_=round_, text="Halfway there")

    page = as_attendee(ada).get(room_url(event)).content.decode()

    assert f"You are in {room.name}" in page
    assert all(name in page for name in mates)
    assert "Domain knowledge" in page and "Your career" in page
    assert room.location in page
    assert f'datetime="{localtime(round_.ends_at).isoformat(timespec="milliseconds")}"' in page
    assert "Halfway there" in page
    others = {p.display_name for p in people} - mates
    assert not any(f"<li>{name}" in page for name in others)


def test_online_rooms_show_their_call_link(organiser):
    event = make_event(
        organiser,
        title="Online",
        format=EventFormat.ONLINE,
        video_url="https://meet.example.org/main",
        room_video_pattern="https://meet.jit.si/pb-{event}-{room}",
    )
    ada = make_attendee(event, "Ada")
    rounds.round_start(event=event, rooms=1, minutes=5, names=["Blue"])
    page = as_attendee(ada).get(room_url(event), **HTMX).content.decode()
    assert f"https://meet.jit.si/pb-{rounds.room_link_event(event)}-blue" in page
    assert "video call" in page


def test_a_late_joiner_opening_the_page_is_placed_in_the_smallest_room(event, rooms):
    round_, _ = rooms
    rounds.attendee_move(
        attendee=RoomMember.objects.filter(round=round_).first().attendee,
        room=round_.rooms.last(),
    )  # now 1 and 3
    small = min(round_.rooms.all(), key=lambda r: r.members.count())
    late = make_attendee(event, "Late")

    page = as_attendee(late).get(room_url(event), **HTMX).content.decode()

    assert f"You are in {small.name}" in page
    assert RoomMember.objects.get(round=round_, attendee=late).room == small


def test_a_refused_point_shows_the_panel_without_placing_a_late_joiner(event, rooms):
    # Only arriving places someone (the room page, the socket): the panel an answer shows
    # reads the room, it does not assign one.
    late = make_attendee(event, "Late")
    url = reverse("debates:room_point_add", args=[event.slug])
    data = {"theme": event.themes.first().pk, "side": Side.FOR, "text": "Hello"}

    response = as_attendee(late).post(url, data)

    assert response.status_code == 400
    assert not RoomMember.objects.filter(attendee=late).exists()


def test_members_add_points_and_upvote_over_http(event, rooms):
    round_, people = rooms
    ada = people[0]
    room = RoomMember.objects.get(round=round_, attendee=ada).room
    mate = room.members.exclude(pk=ada.pk).first()
    theme = event.themes.first()
    client = as_attendee(ada)

    response = client.post(
        reverse("debates:room_point_add", args=[event.slug]),
        {"theme": theme.pk, "side": Side.FOR, "text": "Depth wins audits"},
        **HTMX,
    )
    assert response.status_code == 200
    assert "Depth wins audits" in response.content.decode()
    point = Point.objects.get(text="Depth wins audits")
    assert point.room == room

    upvote = reverse("debates:room_point_upvote", args=[event.slug, point.pk])
    assert as_attendee(mate).post(upvote, **HTMX).status_code == 200
    again = as_attendee(mate).post(upvote, **HTMX)
    assert again.status_code == 400
    assert again.content.decode() == str(points.POINT_ALREADY_UPVOTED)
    point.refresh_from_db()
    assert point.upvotes == 1
    board = as_attendee(mate).get(room_url(event, board=True), **HTMX).content.decode()
    assert "You upvoted this." in board


def test_the_author_sees_no_upvote_button_on_their_own_point_and_cannot_post_one(event, rooms):
    round_, people = rooms
    ada = people[0]
    room = RoomMember.objects.get(round=round_, attendee=ada).room
    mate = room.members.exclude(pk=ada.pk).first()
    point = points.point_add(
        room=room, attendee=ada, theme=event.themes.first(), side=Side.FOR, text="Mine"
    )
    upvote = reverse("debates:room_point_upvote", args=[event.slug, point.pk])

    own_board = as_attendee(ada).get(room_url(event, board=True), **HTMX).content.decode()
    mates_board = as_attendee(mate).get(room_url(event, board=True), **HTMX).content.decode()
    assert upvote not in own_board and "Your point." in own_board
    assert upvote in mates_board and "Your point." not in mates_board
    refused = as_attendee(ada).post(upvote, **HTMX)
    assert (refused.status_code, refused.content.decode()) == (400, str(points.POINT_OWN))
    point.refresh_from_db()
    assert point.upvotes == 0


def test_the_board_only_shows_my_rooms_points(event, rooms):
    round_, _ = rooms
    oak, elm = round_.rooms.all()
    theme = event.themes.first()
    points.point_add(
        room=oak, attendee=oak.members.first(), theme=theme, side=Side.FOR, text="Oak says"
    )
    board = as_attendee(elm.members.first()).get(room_url(event, board=True), **HTMX)
    assert "Oak says" not in board.content.decode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"side": Side.FOR, "text": "  "}, points.POINT_EMPTY),
        ({"side": Side.FOR, "text": "x" * 281}, points.POINT_TOO_LONG),
        ({"side": "undecided", "text": "Fine"}, points.POINT_SIDE_INVALID),
        ({"side": Side.FOR, "text": "Fine", "theme": 999999}, points.THEME_NOT_IN_EVENT),
    ],
)
def test_bad_points_get_a_reason_and_are_not_saved(event, rooms, data, reason):
    _, people = rooms
    data = {"theme": event.themes.first().pk, **data}
    response = as_attendee(people[0]).post(
        reverse("debates:room_point_add", args=[event.slug]), data, **HTMX
    )
    assert response.status_code == 400
    assert response.content.decode() == str(reason)
    assert not Point.objects.exists()


def test_without_htmx_a_bad_point_shows_the_page_with_the_reason(event, rooms):
    _, people = rooms
    response = as_attendee(people[0]).post(
        reverse("debates:room_point_add", args=[event.slug]),
        {"theme": event.themes.first().pk, "side": Side.FOR, "text": ""},
    )
    assert response.status_code == 400
    assert str(points.POINT_EMPTY) in response.content.decode()


def test_strangers_cannot_add_or_upvote(event, rooms, client):
    round_, _ = rooms
    room = round_.rooms.first()
    point = points.point_add(
        room=room, attendee=room.members.first(), theme=event.themes.first(), side="for", text="P"
    )
    add = reverse("debates:room_point_add", args=[event.slug])
    assert client.post(add, {"side": "for", "text": "x"}, **HTMX).status_code == 403
    upvote = reverse("debates:room_point_upvote", args=[event.slug, point.pk])
    assert client.post(upvote, **HTMX).status_code == 403


def test_outside_a_round_there_is_no_room_to_add_to(event, attendee):
    response = as_attendee(attendee).post(
        reverse("debates:room_point_add", args=[event.slug]),
        {"theme": event.themes.first().pk, "side": "for", "text": "Early"},
        **HTMX,
    )
    assert response.status_code == 400
    assert response.content.decode() == "You are not in a breakout room right now."


def test_in_a_choice_round_attendees_pick_a_room(event):
    people = [make_attendee(event, n) for n in "AB"]
    round_ = rounds.round_start(
        event=event, rooms=2, minutes=5, mode=AssignmentMode.CHOICE, names=["Oak", "Elm"]
    )
    client = as_attendee(people[0])
    page = client.get(room_url(event), **HTMX).content.decode()
    assert "Pick a breakout room" in page and "Oak" in page and "Elm" in page

    elm = round_.rooms.get(name="Elm")
    response = client.post(
        reverse("debates:room_choose", args=[event.slug]), {"room": elm.pk}, **HTMX
    )
    assert response.status_code == 200
    assert "You are in Elm" in response.content.decode()
    full = as_attendee(people[1]).post(
        reverse("debates:room_choose", args=[event.slug]), {"room": elm.pk}, **HTMX
    )
    assert full.status_code == 400 and full.content.decode() == str(rounds.ROOM_FULL)


def test_the_plenary_and_takeaways_show_on_the_attendee_page(event, rooms):
    round_, people = rooms
    room = round_.rooms.first()
    point = points.point_add(
        room=room, attendee=room.members.first(), theme=event.themes.first(), side="for", text="Key"
    )
    points.point_highlight(point=point)
    rounds.round_end(round_=round_)  # plenary
    client = as_attendee(people[0])
    assert "Key" in client.get(room_url(event), **HTMX).content.decode()

    takeaways.takeaway_add(event=event, title="Depth needs a home")
    phases.phase_set(event=event, phase=Phase.TAKEAWAYS)
    assert "Depth needs a home" in client.get(room_url(event), **HTMX).content.decode()


def test_the_event_page_holds_the_panel_and_the_room_script(event, attendee):
    page = as_attendee(attendee).get(reverse("debates:event", args=[event.slug])).content.decode()
    # The panel is in the page from the start (issue 14: no second request for it); it is
    # refreshed from its own address when the socket says something changed.
    assert f'data-refresh-url="{room_url(event)}"' in page
    assert f'data-me="{attendee.pk}"' in page
    assert 'data-hx-trigger="load"' not in page
    from django.templatetags.static import static

    assert static("js/rooms.js") in page  # by its hashed name (WhiteNoise's manifest)


def test_each_person_gets_their_own_room_and_questions_in_the_shared_event_page(event, rooms):
    """The event page is rendered once and shared (debates/page_cache.py); the room panel and
    the questions section inside it are each person's own."""
    from debates.services import questions

    round_, people = rooms
    ada, bo = people[0], people[1]
    asked = questions.question_ask(event=event, attendee=ada, text="Why now and not later?")
    questions.question_upvote(question=asked, attendee=bo)
    page = reverse("debates:event", args=[event.slug])
    for person in (ada, bo, ada):  # the second of Ada's reads comes from the shared page
        body = as_attendee(person).get(page).content.decode()
        room = RoomMember.objects.get(attendee=person, room__round=round_).room
        other = "Elm" if room.name == "Oak" else "Oak"
        assert f'data-me="{person.pk}"' in body
        assert room.name in body and other not in body
        assert person.public_name in body
        # Bo's upvote shows as pressed on Bo's page only.
        assert "Why now and not later?" in body
        pressed = (
            'value="0">\n        <button type="submit" class="secondary upvote" aria-pressed="true"'
        )
        assert (pressed in body) == (person == bo), person
        assert 'name="csrfmiddlewaretoken"' in body and "pb-page-cache" not in body


def test_the_projector_shows_the_timer_then_the_highlights(event, rooms, host_client):
    client = host_client
    round_, _ = rooms
    rounds.round_message(round_=round_, text="Wrap up")
    extras = reverse("debates:projector_extras", args=[event.slug])
    body = client.get(extras).content.decode()
    assert (
        f'datetime="{localtime(round_.ends_at).isoformat(timespec="milliseconds")}"' in body
        and "Wrap up" in body
    )
    assert "Oak" in body and "Table 1" in body

    room = round_.rooms.first()
    point = points.point_add(
        room=room, attendee=room.members.first(), theme=event.themes.first(), side="for", text="Big"
    )
    points.point_highlight(point=point)
    rounds.round_end(round_=round_)
    body = client.get(extras).content.decode()
    assert "Big" in body and "data-countdown" not in body
    projector = client.get(reverse("debates:projector", args=[event.slug])).content.decode()
    assert f'data-hx-get="{extras}"' in projector


def test_online_attendees_get_the_main_call_link_outside_their_room(organiser):
    event = make_event(
        organiser, title="Remote", format=EventFormat.ONLINE, video_url="https://meet.example.org/m"
    )
    ada = make_attendee(event, "Ada")
    phases.phase_set(event=event, phase=Phase.OPENING)
    page = as_attendee(ada).get(room_url(event), **HTMX).content.decode()
    assert "https://meet.example.org/m" in page and "Join the main video call" in page


def test_when_the_event_ends_attendees_are_thanked_and_offered_the_recap_and_the_newsletter(event):
    client = as_attendee(make_attendee(event, "Ada"))
    phases.phase_set(event=event, phase=Phase.ENDED)

    page = client.get(room_url(event), **HTMX).content.decode()
    assert "Thank you for taking part" in page
    assert "publish a recap of this debate here soon" in page
    assert reverse("recaps:recap", args=[event.slug]) not in page
    assert reverse("events:subscribe") in page

    event.recap_published = True
    event.save(update_fields=["recap_published"])
    page = client.get(room_url(event), **HTMX).content.decode()
    assert reverse("recaps:recap", args=[event.slug]) in page
