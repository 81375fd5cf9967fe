"""The host console over HTTP: every command, allowed for hosts, denied to attendees and
strangers; the panels it re-renders; and bad input answered with a reason."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from debates import door, host_actions
from debates.models import (
    BreakoutRound,
    Point,
    PointStatus,
    Poll,
    PollKind,
    PollState,
    RoomMember,
    SetAside,
    Takeaway,
    TurnRun,
)
from debates.models_audience import AudienceSettings, Question
from debates.rehearsal_actions import REHEARSAL_COMMANDS
from debates.selectors import ATTENDEE_SESSION_KEY, HOST_SESSION_KEY
from debates.services import (
    clock,
    points,
    questions,
    reveal,
    rounds,
    set_aside,
    takeaways,
    voting,
)
from events.models import Attendee, Phase, Side, Turn
from tests.conftest import make_attendee, make_instant_voters

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def command_data(name: str, s: dict) -> dict:
    """Valid input for each command, in the shape the console's forms post."""
    first, _ = s["rooms"]
    return {
        "phase.set": {"phase": Phase.PLENARY},
        "poll.open": {"kind": PollKind.FINAL_VOTE, "results_visibility": "live"},
        "poll.close": {"poll": s["poll"].pk},
        "poll.visibility": {"poll": s["poll"].pk, "results_visibility": "after_close"},
        "round.start": {"split": "rooms", "count": 2, "mode": "balanced", "minutes": 5},
        "round.message": {"round": s["round"].pk, "text": "Two minutes left"},
        "round.extend": {"round": s["round"].pk, "minutes": 5},
        "round.timer": {"round": s["round"].pk, "minutes": 3},
        "round.end": {"round": s["round"].pk},
        "room.update": {"room": first.pk, "name": "Oak", "video_url": "", "location": "Table 4"},
        "attendee.move": {"attendee": s["mover"].pk, "room": first.pk},
        "point.hide": {"point": s["point"].pk},
        "point.unhide": {"point": s["point"].pk},
        "point.highlight": {"point": s["point"].pk},
        "point.unhighlight": {"point": s["point"].pk},
        "point.merge": {"point": s["other"].pk, "into": s["point"].pk},
        "point.unmerge": {"point": s["other"].pk},
        "point.edit": {"point": s["point"].pk, "text": "A, reworded"},
        "takeaway.add": {"title": "Third", "text": ""},
        "takeaway.edit": {"takeaway": s["takeaway"].pk, "title": "Renamed", "text": "x"},
        "takeaway.delete": {"takeaway": s["takeaway"].pk},
        "takeaway.move": {"takeaway": s["takeaway"].pk, "offset": 1},
        "votes.set_aside": {"group": door.group_key(door.INSTANT, "*", timezone.now())},
        "votes.set_aside_undo": {
            "set_aside": SetAside.objects.filter(event=s["event"])
            .values_list("pk", flat=True)
            .first()
        },
        "rehearsal.start": {"people": 30, "minutes": 5},
        "rehearsal.stop": {},
        "rehearsal.reset": {},
        "clock.start": {},
        "clock.pause": {},
        "clock.next": {},
        "clock.add": {"seconds": 30},
        "reveal.show": {},
        "reveal.hide": {},
        "overlay.rotate": {},
        "question.approve": {"question": s["question"].pk},
        "question.hide": {"question": s["question"].pk},
        "question.merge": {"question": s["duplicate"].pk, "into": s["question"].pk},
        "question.unmerge": {"question": s["duplicate"].pk},
        "question.answer": {"question": s["question"].pk},
        "question.unanswer": {"question": s["question"].pk},
        "question.pin": {"question": s["question"].pk},
        "question.unpin": {},
        "questions.settings": {"premoderated": "on", "answered_in_recap": "on"},
        "takeaway.reorder": {
            "order": list(
                Takeaway.objects.filter(event=s["event"])
                .order_by("-position")
                .values_list("pk", flat=True)
            )
        },
    }[name]


def prepare(name: str, s: dict) -> None:
    """Some commands need a state to act on: a hidden point to unhide, and so on."""
    if name == "point.unhide":
        points.point_hide(point=s["point"])
    elif name == "point.unhighlight":
        points.point_highlight(point=s["point"])
    elif name == "point.unmerge":
        points.point_merge(point=s["other"], into=s["point"])
    elif name == "round.start":
        rounds.round_end(round_=s["round"])
    elif name.startswith("clock."):
        Turn.objects.create(event=s["event"], label="Opening FOR", side=Side.FOR, seconds=60)
        if name in {"clock.pause", "clock.add"}:
            clock.clock_start(event=s["event"])
    elif name.startswith("reveal."):
        Poll.objects.create(event=s["event"], kind=PollKind.FINAL_VOTE, state=PollState.CLOSED)
        if name == "reveal.hide":
            reveal.reveal_show(event=s["event"])
    elif name == "question.approve":
        questions.question_hide(question=s["question"])
    elif name == "question.unmerge":
        questions.question_merge(question=s["duplicate"], into=s["question"])
    elif name == "question.unanswer":
        questions.question_answer(question=s["question"])
    elif name == "question.unpin":
        questions.question_pin(question=s["question"])
    elif name.startswith("votes."):
        make_instant_voters(s["poll"], door.INSTANT_FLAG)
        if name == "votes.set_aside_undo":
            set_aside.set_aside(
                event=s["event"],
                key=door.group_key(door.INSTANT, "*", timezone.now()),
                actor=set_aside.Actor(user_id=None, label="host link"),
            )


def snapshot(s: dict) -> tuple:
    """Everything any command could change, to show a refused command changed nothing."""
    event = s["event"]
    event.refresh_from_db()
    return (
        event.phase,
        event.overlay_generation,
        list(
            Poll.objects.filter(event=event).values_list(
                "state", "results_visibility", "revealed_at"
            )
        ),
        list(
            TurnRun.objects.filter(event=event).values_list(
                "label", "started_at", "ended_at", "running_since", "added_seconds"
            )
        ),
        list(
            BreakoutRound.objects.filter(event=event).values_list("ends_at", "ended_at", "message")
        ),
        list(RoomMember.objects.filter(round__event=event).values_list("room_id", "attendee_id")),
        list(
            Point.objects.filter(event=event).values_list(
                "text", "status", "highlighted", "upvotes"
            )
        ),
        list(Takeaway.objects.filter(event=event).values_list("title", "text", "position")),
        list(s["rooms"][0].round.rooms.values_list("name", "location")),
        list(Attendee.objects.filter(event=event).values_list("pk", "set_aside")),
        list(SetAside.objects.filter(event=event).values_list("pk", "undone_at")),
        list(
            Question.objects.filter(event=event)
            .order_by("pk")
            .values_list("status", "pinned", "answered_at", "upvotes", "merged_into")
        ),
        list(
            AudienceSettings.objects.filter(event=event).values_list(
                "questions_premoderated", "answered_in_recap"
            )
        ),
    )


def url(event, name: str) -> str:
    return reverse("debates:console_command", args=[event.slug, name])


def attendee_client(attendee) -> Client:
    client = Client()
    session = client.session
    session[ATTENDEE_SESSION_KEY] = {str(attendee.event_id): attendee.token}
    session.save()
    return client


ALL_COMMANDS = sorted(host_actions.HOST_ACTIONS)
# A rehearsal runs on a draft event, not this one mid-way: tests/debates/test_rehearsal_console.py
# runs its commands for hosts; the refusals below cover them too.
RUN_ON_LIVE_EVENT = sorted(set(ALL_COMMANDS) - REHEARSAL_COMMANDS)


@pytest.mark.parametrize("name", RUN_ON_LIVE_EVENT)
def test_hosts_run_every_command_and_get_its_panel_back(client, host_user, live_event, name):
    prepare(name, live_event)
    before = snapshot(live_event)
    client.force_login(host_user)

    response = client.post(url(live_event["event"], name), command_data(name, live_event), **HTMX)

    assert response.status_code == 200, response.content
    panel = host_actions.HOST_ACTIONS[name].panel
    assert response.templates[0].name == f"debates/console.html#{panel}" or panel in (
        response.content.decode()
    )
    assert snapshot(live_event) != before  # the command did something a host would see


@pytest.mark.parametrize("name", ALL_COMMANDS)
def test_attendees_and_strangers_are_refused_every_command(client, stranger_user, live_event, name):
    prepare(name, live_event)
    event = live_event["event"]
    data = command_data(name, live_event)
    before = snapshot(live_event)
    attendee = live_event["people"][0]

    for who, caller in (
        ("attendee", attendee_client(attendee)),
        ("anonymous", Client()),
        ("stranger", client),
    ):
        if who == "stranger":
            client.force_login(stranger_user)
        response = caller.post(url(event, name), data, **HTMX)
        assert response.status_code == 403, who
    assert snapshot(live_event) == before


def test_the_host_link_session_runs_commands(live_event):
    event = live_event["event"]
    client = Client()
    assert (
        client.get(reverse("debates:host_link", args=[event.slug, event.host_key])).status_code
        == 302
    )
    response = client.post(url(event, "phase.set"), {"phase": Phase.OPENING}, **HTMX)
    assert response.status_code == 200
    event.refresh_from_db()
    assert event.phase == Phase.OPENING
    assert HOST_SESSION_KEY in client.session


def test_a_moderator_can_run_the_console(client, moderator_user, live_event):
    client.force_login(moderator_user)
    event = live_event["event"]
    assert client.get(reverse("debates:console", args=[event.slug])).status_code == 200


def test_the_console_shows_every_panel(client, host_user, live_event):
    client.force_login(host_user)
    event = live_event["event"]
    page = client.get(reverse("debates:console", args=[event.slug])).content.decode()
    for marker in (
        'id="phase"',
        'id="presence"',
        'id="door"',
        'id="round"',
        'id="rooms"',
        'id="plenary"',
        'id="takeaways"',
        "Bring everyone back",
        "Send to all rooms",
        "Opening statements",
        "Final vote",
        "P0",  # an attendee in a room
    ):
        assert marker in page, marker


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("round.message", {"text": "   "}, rounds.ROUND_MESSAGE_EMPTY),
        ("takeaway.add", {"title": " "}, takeaways.TAKEAWAY_TITLE_EMPTY),
        ("phase.set", {"phase": "intermission"}, None),
        (
            "round.start",
            {"split": "rooms", "count": 2, "mode": "balanced", "minutes": 5},
            rounds.ROUND_ALREADY_RUNNING,
        ),
    ],
)
def test_bad_input_is_refused_with_a_reason(client, host_user, live_event, name, data, reason):
    client.force_login(host_user)
    data = {"round": live_event["round"].pk, **data}
    before = snapshot(live_event)
    response = client.post(url(live_event["event"], name), data, **HTMX)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    if reason:
        assert response.content.decode() == str(reason)
    assert snapshot(live_event) == before


def test_ids_from_another_event_are_not_found(client, organiser, live_event, other_event):
    foreign = takeaways.takeaway_add(event=other_event, title="Theirs")
    client.force_login(organiser)  # organiser of both events
    response = client.post(
        url(live_event["event"], "takeaway.delete"), {"takeaway": foreign.pk}, **HTMX
    )
    assert response.status_code == 400
    assert response.content.decode() == str(host_actions.NOT_IN_EVENT)
    assert Takeaway.objects.filter(pk=foreign.pk).exists()


def test_without_htmx_a_command_redirects_back_to_its_panel(client, host_user, live_event):
    client.force_login(host_user)
    event = live_event["event"]
    response = client.post(url(event, "round.end"), {"round": live_event["round"].pk})
    assert response.status_code == 302
    assert response.url == reverse("debates:console", args=[event.slug]) + "#round"

    refused = client.post(
        url(event, "round.message"), {"round": live_event["round"].pk, "text": "x"}
    )
    assert refused.status_code == 400
    assert str(rounds.ROUND_NOT_RUNNING) in refused.content.decode()


def test_a_round_command_also_refreshes_the_rooms_out_of_band(client, host_user, live_event):
    client.force_login(host_user)
    response = client.post(
        url(live_event["event"], "round.end"), {"round": live_event["round"].pk}, **HTMX
    )
    body = response.content.decode()
    assert 'id="rooms" data-hx-swap-oob="innerHTML"' in body and "Round 1 ended" in body


def test_unknown_commands_and_gets_are_refused(client, host_user, live_event):
    client.force_login(host_user)
    event = live_event["event"]
    assert client.post(url(event, "event.delete"), {}, **HTMX).status_code == 404
    assert client.get(url(event, "phase.set")).status_code == 405


@pytest.mark.parametrize(
    "panel",
    sorted(
        [
            "phase",
            "presence",
            "timeup",
            "door",
            "round",
            "rooms",
            "plenary",
            "takeaways",
            "polls",
            "recap",
        ]
    ),
)
def test_panels_are_for_hosts_only(client, host_user, stranger_user, live_event, panel):
    event = live_event["event"]
    panel_url = reverse("debates:console_panel", args=[event.slug, panel])
    assert attendee_client(live_event["people"][0]).get(panel_url).status_code == 403
    assert Client().get(panel_url).status_code == 403
    client.force_login(stranger_user)
    assert client.get(panel_url).status_code == 403
    client.force_login(host_user)
    assert client.get(panel_url).status_code == 200


def test_presence_counts_who_joined(client, host_user, live_event):
    client.force_login(host_user)
    event = live_event["event"]
    body = client.get(reverse("debates:console_panel", args=[event.slug, "presence"])).content
    assert b'<strong class="figure">6</strong> joined in total' in body
    assert b'<strong class="figure">0</strong> attendees connected now' in body
    assert b"Pre-vote: 0 voted, 0 here now" in body  # turnout against who is present


def test_the_plenary_panel_groups_points_and_shows_hidden_ones_to_hosts(
    client, host_user, live_event
):
    points.point_hide(point=live_event["other"])
    client.force_login(host_user)
    body = client.get(
        reverse("debates:console_panel", args=[live_event["event"].slug, "plenary"])
    ).content.decode()
    assert "Domain knowledge" in body and "Your career" in body
    assert body.count('<li class="point') == 2 and "is-hidden" in body
    assert Point.objects.get(pk=live_event["other"].pk).status == PointStatus.HIDDEN


def test_the_merge_list_offers_only_points_of_the_same_side_and_theme(
    client, host_user, live_event
):
    import re

    point, same = live_event["point"], live_event["other"]  # both FOR, on the first theme
    room, author = point.room, point.author
    first, second = live_event["event"].themes.all()[:2]
    against = points.point_add(room=room, attendee=author, theme=first, side="against", text="C")
    elsewhere = points.point_add(room=room, attendee=author, theme=second, side="for", text="D")
    client.force_login(host_user)
    body = client.get(
        reverse("debates:console_panel", args=[live_event["event"].slug, "plenary"])
    ).content.decode()

    def offered(p) -> set[int]:
        item = body[body.index(f'id="point-{p.pk}"') :]
        select = item[item.index('<select name="into"') : item.index("</select>")]
        return {int(pk) for pk in re.findall(r'<option value="(\d+)"', select)}

    assert offered(point) == {same.pk}
    assert offered(same) == {point.pk}
    assert offered(against) == set() and offered(elsewhere) == set()


def test_the_console_suggests_rooms_of_about_eight_people(client, host_user, event):
    for i in range(40):
        make_attendee(event, f"P{i}")
    client.force_login(host_user)
    html = client.get(reverse("debates:console_panel", args=[event.slug, "round"])).content
    assert b'id="id_count" min="1" max="50" value="5"' in html  # not 7, as it was


@pytest.mark.parametrize("pre_voted", [0, 5])
def test_rooms_mixed_by_side_without_pre_votes_start_at_random_and_the_host_is_told(
    client, host_user, event, pre_voted
):
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    for i in range(12):
        person = make_attendee(event, f"P{i}")
        if i < pre_voted:
            voting.vote_cast(poll=poll, attendee=person, side="for" if i % 2 else "against")
    client.force_login(host_user)
    data = {"split": "rooms", "count": 2, "mode": "balanced", "minutes": 5}
    response = client.post(url(event, "round.start"), data, **HTMX)

    assert response.status_code == 200
    told = "data-mixed-at-random" in response.content.decode()
    assert told is (pre_voted == 0)
    assert BreakoutRound.objects.get(event=event).assignment == (
        "random" if pre_voted == 0 else "balanced"
    )


def test_the_presence_panel_polled_every_few_seconds_stays_cheap(
    client, host_user, live_event, django_assert_max_num_queries
):
    client.force_login(host_user)
    panel_url = reverse("debates:console_panel", args=[live_event["event"].slug, "presence"])
    with django_assert_max_num_queries(7):  # session, user, event, host check, tallies, joined
        assert client.get(panel_url).status_code == 200


def test_the_console_offers_to_open_a_draft_poll_and_to_reopen_a_closed_one(
    client, host_user, event
):
    # The demo (and the organiser's event form) create both polls up front, as drafts.
    Poll.objects.create(event=event, kind=PollKind.PRE_VOTE)
    client.force_login(host_user)
    page = client.get(reverse("debates:console", args=[event.slug])).content.decode()
    assert "Open the Pre-vote" in page
    assert "Reopen" not in page

    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    voting.poll_close(poll=poll)
    page = client.get(reverse("debates:console", args=[event.slug])).content.decode()
    # Reopening is the undo of a close, kept small (tests/debates/test_cockpit.py).
    assert "Undo: reopen the Pre-vote" in page
    assert "Open the Final vote" in page


def test_a_signed_out_host_is_refused_the_console_but_shown_the_way_in(client, event):
    console = reverse("debates:console", args=[event.slug])
    response = client.get(console)
    assert response.status_code == 403
    page = response.content.decode()
    assert f'href="{reverse("login")}?next={console}"' in page
    assert "secret host link" in page
