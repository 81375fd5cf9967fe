"""The organiser's list (issue 17): filters for upcoming, live, ended and archived; duplicate,
archive and delete, where delete leaves nothing of the attendees behind."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.db.models.signals import post_save
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from debates import stage
from debates.management.commands.seed_demo import DEMO_SLUG
from debates.models_audience import Question, QuestionUpvote
from debates.services import persuasion, reactions
from events.models import (
    Attendee,
    Event,
    Phase,
    Resource,
    Side,
    Speaker,
    SpeakerRole,
    Subscriber,
    Theme,
    Turn,
)
from recaps.services import recap_publish
from tests.conftest import make_event

pytestmark = pytest.mark.django_db


def organiser_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(client: Client, show: str) -> list[str]:
    body = client.get(reverse("events:organiser_home"), {"show": show}).content.decode()
    return [e.slug for e in Event.objects.all() if f'data-event="{e.slug}"' in body]


def test_the_list_filters_upcoming_live_ended_and_archived(organiser):
    soon = make_event(organiser, title="Soon")
    live = make_event(organiser, title="Live now")
    Event.objects.filter(pk=live.pk).update(phase=Phase.BREAKOUTS)
    done = make_event(organiser, title="Done")
    Event.objects.filter(pk=done.pk).update(phase=Phase.ENDED)
    old = make_event(organiser, title="Old")
    Event.objects.filter(pk=old.pk).update(phase=Phase.ENDED, archived_at=timezone.now())
    client = organiser_client(organiser)
    assert listed(client, "upcoming") == [soon.slug]
    assert listed(client, "live") == [live.slug]
    assert listed(client, "ended") == [done.slug]
    assert listed(client, "archived") == [old.slug]
    assert sorted(listed(client, "all")) == sorted([soon.slug, live.slug, done.slug])
    body = client.get(reverse("events:organiser_home"), {"show": "ended"}).content.decode()
    assert 'aria-current="page" data-show="ended"' in body
    assert "(1)" in body and "(3)" in body  # each filter says how many it holds


def test_duplicate_copies_the_format_speakers_themes_resources_and_turns(organiser, host_user):
    event = make_event(
        organiser, title="Roadmaps", venue="The Hall", video_url="https://v.example/x"
    )
    Event.objects.filter(pk=event.pk).update(
        phase=Phase.ENDED, starts_at=timezone.now() - timedelta(days=30)
    )
    event.refresh_from_db()
    ada = Speaker.objects.create(
        event=event,
        name="Ada",
        role=SpeakerRole.PANELIST,
        side=Side.FOR,
        user=host_user,
        position=0,
    )
    Theme.objects.create(event=event, name="Cost", prompt="Who pays?", position=0)
    Resource.objects.create(event=event, title="Reading", url="https://r.example/", position=0)
    Turn.objects.create(event=event, label="Opening", side=Side.FOR, speaker=ada, seconds=300)
    Attendee.objects.create(event=event, token="t", display_name="Someone")

    response = organiser_client(organiser).post(
        reverse("events:event_duplicate", args=[event.slug])
    )
    copy = Event.objects.exclude(pk=event.pk).get(title="Roadmaps (copy)")
    assert response.status_code == 302 and response["Location"].endswith(
        reverse("events:event_edit", args=[copy.slug])
    )
    for field in ("motion", "intro", "format", "admission", "venue", "video_url"):
        assert getattr(copy, field) == getattr(event, field), field
    assert copy.phase == Phase.LOBBY and copy.organiser == organiser
    assert copy.slug != event.slug and copy.join_code != event.join_code
    assert copy.host_key != event.host_key
    assert copy.starts_at > timezone.now() + timedelta(days=6)
    assert copy.starts_at.weekday() == event.starts_at.weekday()
    assert copy.starts_at.time() == event.starts_at.time()
    [speaker] = copy.speakers.all()
    assert (speaker.name, speaker.side, speaker.user) == ("Ada", Side.FOR, host_user)
    assert [(t.name, t.prompt) for t in copy.themes.all()] == [("Cost", "Who pays?")]
    assert [r.url for r in copy.resources.all()] == ["https://r.example/"]
    [turn] = copy.turns.all()
    assert turn.label == "Opening" and turn.speaker == speaker  # the copy's speaker, not Ada's
    assert not copy.attendees.exists() and not copy.recap_published


def test_archive_moves_it_off_the_list_and_back_without_touching_its_pages(organiser, event):
    client = organiser_client(organiser)
    client.post(reverse("events:event_archive", args=[event.slug]))
    assert event.slug in listed(client, "archived") and event.slug not in listed(client, "all")
    assert client.get(event.get_absolute_url()).status_code == 200
    client.post(reverse("events:event_archive", args=[event.slug]), {"archived": "0"})
    assert event.slug in listed(client, "all") and event.slug not in listed(client, "archived")


def test_only_the_organiser_duplicates_archives_or_deletes(event, host_user, stranger_user):
    for user in (host_user, stranger_user):
        client = organiser_client(user)
        for name in ("event_duplicate", "event_archive", "event_delete"):
            assert client.post(reverse(f"events:{name}", args=[event.slug])).status_code == 403
    assert Event.objects.count() == 1 and Event.objects.get().archived_at is None
    anonymous = Client().post(reverse("events:event_delete", args=[event.slug]))
    assert anonymous.status_code in {302, 403} and Event.objects.filter(pk=event.pk).exists()


def _full_evening() -> Event:
    """The demo's finished evening (votes, rooms, points, takeaways) with questions, reactions,
    what changed minds and a subscriber, and its recap published."""
    call_command("seed_demo", stdout=io.StringIO())
    event = Event.objects.get(slug=DEMO_SLUG)
    people = list(event.attendees.all()[:3])
    # The demo has ended, so its questions are written as they were asked during it.
    question = Question.objects.create(event=event, author=people[0], text="Who pays for it?")
    QuestionUpvote.objects.create(question=question, attendee=people[1])
    reactions.reactions_flush(
        sums={(event.pk, reactions.bucket_of(timezone.now()), "agree"): (6, 6)}
    )
    switcher = next(a for a in event.attendees.all() if stage.is_switcher(attendee=a))
    persuasion.mind_change_answer(attendee=switcher)
    Subscriber.objects.create(
        email="reader@example.org", source_event=event, consented_at=timezone.now()
    )
    Event.objects.filter(pk=event.pk).update(phase=Phase.ENDED)
    recap_publish(event=Event.objects.get(pk=event.pk), publish=True)
    return Event.objects.get(pk=event.pk)


def test_delete_asks_for_the_title_then_leaves_nothing_of_the_attendees():
    event = _full_evening()
    client = organiser_client(event.organiser)  # the demo's organiser
    people = set(event.attendees.values_list("pk", flat=True))
    names = set(event.attendees.exclude(display_name="").values_list("display_name", flat=True))
    assert len(people) >= 10 and names
    url = reverse("events:event_delete", args=[event.slug])
    page = client.get(url).content.decode()
    assert f"{len(people)} attendees" in page and "published recap" in page

    refused = client.post(url, {"title": "not the title"})
    assert refused.status_code == 400 and "Type the event" in refused.content.decode()
    assert Event.objects.filter(pk=event.pk).exists()

    saves: list[bool] = []

    def watch(sender, instance, **kwargs):
        if instance.pk == event.pk:
            saves.append(instance.recap_published)

    post_save.connect(watch, sender=Event)
    try:
        done = client.post(url, {"title": event.title})
    finally:
        post_save.disconnect(watch, sender=Event)
    assert done.status_code == 302
    assert saves == [False]  # the recap was taken down before the event went
    assert client.get(reverse("recaps:recap", args=[event.slug])).status_code == 404
    assert not Event.objects.filter(pk=event.pk).exists()
    # No row anywhere in the product's tables points at the event or any of its attendees.
    for model in [
        *apps.get_app_config("events").get_models(),
        *apps.get_app_config("debates").get_models(),
    ]:
        for field in model._meta.get_fields():
            if not isinstance(field, models.ForeignKey):
                continue
            if field.related_model is Event:
                assert not model.objects.filter(**{field.attname: event.pk}).exists(), model
            if field.related_model is Attendee:
                assert not model.objects.filter(**{f"{field.attname}__in": people}).exists(), model
    assert not Attendee.objects.filter(display_name__in=names, event_id=event.pk).exists()
    # The subscriber asked for email: they stay, without the event.
    assert Subscriber.objects.get(email="reader@example.org").source_event is None
