"""Issue 16's rough edges where they live in the debate's pages: the end of the event on the
projector and the phones, the recap pushed live, the phone's order of cards, the board by
theme, the join button that asks for a name (and a way to give it later), the calm phase badge,
the projector's themes, and the login page a signed-out host lands on."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from debates import realtime, selectors
from debates.models import PollKind, RoomMember
from debates.services import phases, points, rounds, voting
from events.models import Attendee, Event, Phase, Side
from tests.conftest import make_attendee, make_event
from tests.debates.test_breakout import HTMX, as_attendee, room_url

pytestmark = pytest.mark.django_db


def projector_screen(client, event) -> str:
    return client.get(reverse("debates:screen", args=[event.slug])).content.decode()


# ---------------------------------------------------------------- #2 after the end


def test_after_the_end_the_projector_says_so_with_no_way_in_and_a_recap_to_come(host_client, event):
    assert "Join and vote" in projector_screen(host_client, event)
    phases.phase_set(event=event, phase=Phase.ENDED)
    html = projector_screen(host_client, event)
    assert "This debate is over" in html
    assert "Join and vote" not in html and "<svg" not in html and "data-screen-code" not in html
    assert "A recap is coming" in html and "data-recap-link" not in html

    Event.objects.filter(pk=event.pk).update(recap_published=True)
    html = projector_screen(host_client, event)
    assert f"data-recap-link>http://testserver/recaps/{event.slug}/<" in html
    assert "A recap is coming" not in html


def test_after_the_end_the_event_page_says_so_and_offers_no_join_button(client, organiser):
    event = make_event(organiser, admission="open")
    phases.phase_set(event=event, phase=Phase.ENDED)
    page = client.get(event.get_absolute_url()).content.decode()
    assert "This debate is over: nobody can join or vote any more." in page
    # The button is hidden from then on by the stage's phase (the page may have been open).
    assert 'data-stage-phase="ended"' in page


# ---------------------------------------------------------------- #3 the recap pushed live


def test_publishing_the_recap_is_announced_in_the_event_state(
    event, sent, django_capture_on_commit_callbacks
):
    from recaps.services import recap_publish

    phases.phase_set(event=event, phase=Phase.ENDED)
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        recap_publish(event=event, publish=True)
    assert sent.of_type("event.changed"), "phones would keep saying 'soon'"
    event.refresh_from_db()
    message = realtime.event_message(event, selectors.poll_snapshots(event_id=event.pk))
    assert message["type"] == "phase.changed" and message["recap"] is True

    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        recap_publish(event=event, publish=True)  # already published: nothing to announce
    assert sent == []


def test_the_panel_phones_reread_carries_the_recap_flag(event):
    ada = make_attendee(event, "Ada")
    phases.phase_set(event=event, phase=Phase.ENDED)
    panel = as_attendee(ada).get(room_url(event), **HTMX).content.decode()
    assert 'data-phase="ended" data-recap="0"' in panel
    Event.objects.filter(pk=event.pk).update(recap_published=True)
    panel = as_attendee(ada).get(room_url(event), **HTMX).content.decode()
    assert 'data-phase="ended" data-recap="1"' in panel


# ---------------------------------------------------------------- #8 phones


def test_the_open_vote_comes_before_the_closed_one(client, event):
    pre = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    voting.poll_close(poll=pre)
    final = voting.poll_open(event=event, kind=PollKind.FINAL_VOTE)
    page = client.get(event.get_absolute_url()).content.decode()
    assert page.index(f'id="poll-{final.pk}"') < page.index(f'id="poll-{pre.pk}"')


def test_the_room_board_is_grouped_by_theme(event):
    people = [make_attendee(event, name) for name in ("Ada", "Bo")]
    round_ = rounds.round_start(event=event, rooms=1, minutes=10)
    room = RoomMember.objects.get(round=round_, attendee=people[0]).room
    career, domain = event.themes.get(name="Your career"), event.themes.get(name="Domain knowledge")
    points.point_add(room=room, attendee=people[0], theme=career, side=Side.FOR, text="Career one")
    points.point_add(room=room, attendee=people[1], theme=domain, side=Side.FOR, text="Domain one")
    points.point_add(
        room=room, attendee=people[1], theme=career, side=Side.AGAINST, text="Career 2"
    )
    board = as_attendee(people[0]).get(room_url(event, board=True), **HTMX).content.decode()
    headings = [part.split("</h4>", 1)[0] for part in board.split('class="board-theme">')[1:]]
    assert headings == ["Domain knowledge", "Your career"]  # the event's order of themes
    career_part = board.split('class="board-theme">Your career')[1]
    assert "Career one" in career_part and "Career 2" in career_part
    assert "Domain one" not in career_part


# ---------------------------------------------------------------- #9 small wrongs


def test_the_phase_badge_is_calm_not_the_red_of_an_error(client, event):
    page = client.get(event.get_absolute_url()).content.decode()
    assert '<span class="badge phase" data-phase-label>Lobby</span>' in page
    assert 'class="badge live" data-phase-label' not in page


def test_join_this_event_asks_for_a_name(client, organiser):
    event = make_event(organiser, admission="open")
    page = client.get(event.get_absolute_url()).content.decode()
    cta = page.split("data-join-cta", 1)[1].split("</form>", 1)[0]
    assert 'name="display_name"' in cta and "Your name (optional)" in cta
    client.post(reverse("debates:join_link", args=[event.join_code]), {"display_name": "Ada"})
    assert Attendee.objects.get(event=event).display_name == "Ada"


def test_an_attendee_who_joined_without_a_name_can_give_one_later(event):
    ada = make_attendee(event)
    client = as_attendee(ada)
    page = client.get(event.get_absolute_url()).content.decode()
    assert "You are taking part as Anonymous." in page and "Give your name" in page
    client.post(reverse("debates:join_link", args=[event.join_code]), {"display_name": "Ada"})
    ada.refresh_from_db()
    assert ada.display_name == "Ada" and Attendee.objects.filter(event=event).count() == 1
    assert "Change your name" in client.get(event.get_absolute_url()).content.decode()


def test_a_stranger_cannot_rename_anyone_through_the_join_link_of_a_screen_event(client, event):
    response = client.post(
        reverse("debates:join_link", args=[event.join_code]), {"display_name": "Mallory"}
    )
    assert response.status_code == 403
    assert not Attendee.objects.filter(event=event).exists()


# ---------------------------------------------------------------- #11 the projector's themes


@pytest.mark.parametrize(
    ("query", "body_class"),
    [
        ("", '<body class="projector"'),
        ("?theme=light", '<body class="projector theme-light"'),
        ("?theme=dark", '<body class="projector theme-dark"'),
        ("?theme=<script>", '<body class="projector"'),
    ],
)
def test_the_projector_takes_its_theme_from_the_address(host_client, event, query, body_class):
    html = host_client.get(reverse("debates:projector", args=[event.slug]) + query)
    page = html.content.decode()
    assert body_class in page
    assert 'href="?theme=light"' in page and 'href="?theme=dark"' in page


# ---------------------------------------------------------------- #6 a signed-out host


def test_a_signed_out_host_sent_to_log_in_is_told_about_the_host_link(event):
    console = reverse("debates:console", args=[event.slug])
    page = Client().get(f"{reverse('login')}?next={console}").content.decode()
    assert "data-host-link-note" in page and "secret host link" in page
    assert "data-host-link-note" not in Client().get(reverse("login")).content.decode()
