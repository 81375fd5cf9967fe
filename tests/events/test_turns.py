"""The speakers' turns in the event form: built from the speakers when left empty, then
reordered, retimed ("7", "2:30") and removed like the other rows; bad lengths say why."""

from __future__ import annotations

import pytest
from django.urls import reverse

from events import forms
from events.models import Turn
from tests.events.test_organiser import event_data, formset

pytestmark = pytest.mark.django_db


def test_a_new_event_gets_its_turns_from_the_speakers_who_argue_a_side(
    client, organiser, host_user
):
    client.force_login(organiser)
    client.post(reverse("events:event_new"), event_data())
    turns = list(Turn.objects.order_by("position").values_list("label", "seconds"))
    # Priya argues FOR and nobody AGAINST: her opening, rebuttal and closing.
    assert turns == [
        ("Opening FOR: Priya", 420),
        ("Rebuttal FOR: Priya", 180),
        ("Closing FOR: Priya", 120),
    ]


def test_the_organiser_reorders_retimes_and_removes_turns(client, organiser, event):
    first = Turn.objects.create(event=event, label="Opening FOR", seconds=420, position=0)
    second = Turn.objects.create(event=event, label="Opening AGAINST", seconds=420, position=1)
    third = Turn.objects.create(event=event, label="Closing", seconds=120, position=2)
    client.force_login(organiser)
    data = event_data()
    data |= formset(
        "turns",
        [
            {
                "id": str(second.pk),
                "label": "Opening AGAINST",
                "speaker": "",
                "side": "against",
                "seconds": "2:30",
            },
            {
                "id": str(first.pk),
                "label": "Opening FOR",
                "speaker": "",
                "side": "for",
                "seconds": "7",
            },
            {
                "id": str(third.pk),
                "label": "Closing",
                "speaker": "",
                "side": "",
                "seconds": "2",
                "DELETE": "on",
            },
        ],
        initial=3,
    )
    response = client.post(reverse("events:event_edit", args=[event.slug]), data)
    assert response.status_code == 302
    assert list(
        Turn.objects.filter(event=event).order_by("position").values_list("label", "seconds")
    ) == [
        ("Opening AGAINST", 150),
        ("Opening FOR", 420),
    ]


@pytest.mark.parametrize("length", ["0:03", "61:00", "2:75", "seven", "-1"])
def test_a_length_that_is_not_a_turn_says_how_to_write_one(length):
    field = forms.TurnLengthField()
    with pytest.raises(forms.forms.ValidationError) as refused:
        field.clean(length)
    assert refused.value.messages == [str(forms.TURN_LENGTH_INVALID)]


@pytest.mark.parametrize(("length", "seconds"), [("7", 420), ("2:30", 150), ("0:05", 5)])
def test_a_length_is_read_as_minutes_or_minutes_and_seconds(length, seconds):
    assert forms.TurnLengthField().clean(length) == seconds


def test_a_turn_offers_only_this_events_speakers(event, other_event):
    other_event.speakers.create(name="Outsider", role="panelist")
    form = forms.TurnFormSet(instance=event, prefix="turns").empty_form
    names = [str(s) for s in form.fields["speaker"].queryset]
    assert names and not any("Outsider" in name for name in names)
