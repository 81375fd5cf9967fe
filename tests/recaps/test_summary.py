"""The organiser summary: who reads it, the figures and charts on it, publishing from it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from events.models import Event, Phase, Speaker, SpeakerRole
from recaps.selectors import event_recap
from recaps.services import RECAP_NOT_ENDED
from tests.recaps.known_votes import EXPECTED, build_known_event, digits_in, read_figures

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(event):
    return build_known_event(event)


def _url(event: Event) -> str:
    return reverse("recaps:summary", args=[event.slug])


def _publish(client, event: Event, value: str, **headers):
    return client.post(
        reverse("recaps:recap_publish", args=[event.slug]), {"publish": value}, **headers
    )


@pytest.mark.parametrize("who", ["organiser", "host_user", "moderator_user"])
def test_the_organiser_and_the_event_hosts_read_the_summary(client, event, known, who, request):
    client.force_login(request.getfixturevalue(who))
    assert client.get(_url(event)).status_code == 200


def test_a_superuser_reads_any_summary(client, event, known):
    client.force_login(get_user_model().objects.create_superuser("root", password="pw-root-1"))
    assert client.get(_url(event)).status_code == 200


def test_strangers_panelists_and_anonymous_visitors_are_refused(client, event, stranger_user):
    assert client.get(_url(event)).status_code == 403
    Speaker.objects.create(event=event, name="Pan", role=SpeakerRole.PANELIST, user=stranger_user)
    client.force_login(stranger_user)
    assert client.get(_url(event)).status_code == 403


def test_a_host_of_another_event_is_refused(client, other_event, host_user):
    client.force_login(host_user)
    assert client.get(_url(other_event)).status_code == 403


def test_an_unknown_event_is_not_found(client, organiser):
    client.force_login(organiser)
    assert client.get(reverse("recaps:summary", args=["no-such-event"])).status_code == 404


def test_the_summary_shows_the_result_worked_out_by_hand(client, event, known, organiser):
    client.force_login(organiser)
    html = client.get(_url(event)).content.decode()
    figures, loose = read_figures(html, "result")
    assert {key: set(values) for key, values in figures.items()} == {
        key: {value} for key, value in EXPECTED.items()
    }
    assert digits_in(loose) == []


def test_the_summary_counts_turnout_rooms_and_hidden_points(client, event, known, organiser):
    client.force_login(organiser)
    figures, loose = read_figures(client.get(_url(event)).content.decode(), "glance")
    # 22 people joined; 16 voted before, 21 after; 3 rooms; 1 point hidden; nobody subscribed.
    assert figures == {
        "attendees": ["22"],
        "pre-voters": ["16"],
        "final-voters": ["21"],
        "rooms": ["3"],
        "hidden-points": ["1"],
        "subscribers": ["0"],
    }
    assert digits_in(loose) == []


def test_points_per_room_leave_out_hidden_points_and_count_merged_ones(event, known):
    rows = {r.room: (r.for_points, r.against_points) for r in event_recap(event).room_points}
    # Harbour: 2 FOR (one more was hidden), 1 AGAINST merged; Meadow: 2 AGAINST; one point
    # was added for the whole audience, outside any room.
    assert rows == {"Harbour": (2, 1), "Meadow": (0, 2), "Summit": (0, 0), "Whole audience": (1, 0)}


def test_the_charts_are_inline_svg_with_text_alternatives_and_no_inline_style(
    client, event, known, organiser
):
    client.force_login(organiser)
    html = client.get(_url(event)).content.decode()
    for chart in ("tally-chart-0", "tally-chart-1", "turnout-chart", "attendance-chart"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in html
    assert "room-points-chart-title" in html and "Harbour: 2 / 1" in html
    assert (
        "in 3 steps of at least five voters each. At the close: For 7, Against 5, Undecided 4."
        in html
    )
    assert (
        "in 4 steps of at least five voters each. At the close: For 9, Against 10, Undecided 2."
        in html
    )
    assert " style=" not in html
    assert "<script" not in html.split("</head>", 1)[1]


def test_the_summary_links_every_export(client, event, known, organiser):
    client.force_login(organiser)
    html = client.get(_url(event)).content.decode()
    for name in ("export_markdown", "export_votes", "export_points"):
        assert reverse(f"recaps:{name}", args=[event.slug]) in html
    assert reverse("events:subscribers_csv") in html


def test_a_host_sees_no_publish_button_and_no_subscriber_export(client, event, known, host_user):
    client.force_login(host_user)
    html = client.get(_url(event)).content.decode()
    assert "Publish the recap" not in html
    assert reverse("events:subscribers_csv") not in html


def test_the_organiser_publishes_and_unpublishes_the_recap(client, event, known, organiser):
    recap_url = reverse("recaps:recap", args=[event.slug])
    client.force_login(organiser)
    assert "Publish the recap" in client.get(_url(event)).content.decode()

    response = _publish(client, event, "1")
    assert response.status_code == 302 and response.url == _url(event)
    event.refresh_from_db()
    assert event.recap_published and event.recap_published_at is not None
    client.logout()
    assert client.get(recap_url).status_code == 200

    client.force_login(organiser)
    _publish(client, event, "0")
    event.refresh_from_db()
    assert not event.recap_published and event.recap_published_at is None
    client.logout()
    assert client.get(recap_url).status_code == 404


def test_publishing_over_htmx_returns_the_publish_card_only(client, event, known, organiser):
    client.force_login(organiser)
    response = _publish(client, event, "1", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="publish"') and "<html" not in html
    assert "Unpublish" in html


def test_a_host_cannot_publish(client, event, known, host_user):
    client.force_login(host_user)
    assert _publish(client, event, "1").status_code == 403
    event.refresh_from_db()
    assert not event.recap_published


def test_a_recap_cannot_be_published_before_the_event_ends(client, event, organiser):
    Event.objects.filter(pk=event.pk).update(phase=Phase.FINAL_VOTE)
    client.force_login(organiser)
    assert "Publish the recap" not in client.get(_url(event)).content.decode()
    response = _publish(client, event, "1")
    assert response.status_code == 400
    assert str(RECAP_NOT_ENDED) in response.content.decode()
    event.refresh_from_db()
    assert not event.recap_published


def test_publishing_needs_a_choice_and_a_post(client, event, known, organiser):
    client.force_login(organiser)
    assert _publish(client, event, "maybe").status_code == 400
    assert client.get(reverse("recaps:recap_publish", args=[event.slug])).status_code == 405
