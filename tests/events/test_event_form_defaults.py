"""Issue 16's small wrongs on the organiser's pages: a new event's form offers both sides'
speakers, rows left as offered save nothing, and the edit page shows the event's code."""

from __future__ import annotations

import pytest
from django.urls import reverse

from events.models import Event, Side, Speaker
from events.services import join_code_display
from tests.events.test_organiser import event_data, formset

pytestmark = pytest.mark.django_db


def test_a_new_event_form_opens_with_a_for_and_an_against_speaker_row(client, organiser):
    client.force_login(organiser)
    page = client.get(reverse("events:event_new")).content.decode()
    assert 'name="speakers-TOTAL_FORMS" value="2"' in page
    for row, side in ((0, Side.FOR), (1, Side.AGAINST)):
        select = page.split(f'name="speakers-{row}-side"', 1)[1].split("</select>", 1)[0]
        assert f'<option value="{side}" selected>' in select


def test_speaker_rows_left_as_offered_are_not_saved(client, organiser):
    client.force_login(organiser)
    offered = {"role": "panelist", "affiliation": "", "statement": "", "account": ""}
    data = event_data() | formset(
        "speakers",
        [
            {"name": "Priya", "side": Side.FOR, **offered},
            {"name": "", "side": Side.AGAINST, **offered},
        ],
    )
    response = client.post(reverse("events:event_new"), data)
    assert response.status_code == 302
    event = Event.objects.get(title=data["title"])
    assert list(Speaker.objects.filter(event=event).values_list("name", "side")) == [
        ("Priya", Side.FOR)
    ]


def test_a_half_filled_offered_row_is_an_error_not_a_silent_drop(client, organiser):
    client.force_login(organiser)
    offered = {"role": "panelist", "side": Side.AGAINST, "affiliation": "", "account": ""}
    data = event_data() | formset("speakers", [{"name": "", "statement": "Because.", **offered}])
    response = client.post(reverse("events:event_new"), data)
    assert response.status_code == 400
    assert not Event.objects.filter(title=data["title"]).exists()


def test_the_edit_page_shows_the_events_code(client, organiser, event):
    client.force_login(organiser)
    page = client.get(reverse("events:event_edit", args=[event.slug])).content.decode()
    code = join_code_display(event.join_code)
    assert f'<strong class="join-code-inline">{code}</strong>' in page


def test_a_title_posted_with_line_breaks_is_kept_on_one_line(client, organiser, host_user):
    # The title heads pages and is every email's subject, a header that allows no line break.
    client.force_login(organiser)
    data = event_data() | {"title": "Spring\r\nBcc: someone@example.org"}
    assert client.post(reverse("events:event_new"), data).status_code == 302
    assert Event.objects.filter(title="Spring Bcc: someone@example.org").exists()
