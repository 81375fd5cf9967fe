"""The public index: upcoming events with their join links, published recaps, the subscribe form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from events.models import Admission, Phase
from tests.conftest import make_event

pytestmark = pytest.mark.django_db


def test_upcoming_events_are_listed_with_their_join_links(client, organiser):
    soon = make_event(
        organiser,
        title="Soon",
        starts_at=timezone.now() + timedelta(days=1),
        admission=Admission.OPEN,
    )
    later = make_event(organiser, title="Later", starts_at=timezone.now() + timedelta(days=9))
    live = make_event(
        organiser, title="Happening", starts_at=timezone.now() - timedelta(minutes=30)
    )
    live.phase = Phase.BREAKOUTS
    live.save(update_fields=["phase"])
    html = client.get(reverse("events:index")).content.decode()
    # An open door's link admits; an event in a room sends people to type the screen's code.
    assert f'href="/j/{soon.join_code}/"' in html
    for event in (later, live):
        assert f"/j/{event.join_code}/" not in html
    assert html.count(f'href="{reverse("debates:join")}"') >= 2
    # Soonest first; the running one shows it is live.
    assert html.index("Happening") < html.index("Soon") < html.index("Later")
    assert "Live now" in html


def test_published_recaps_are_listed_newest_first_and_unpublished_ones_not(client, organiser):
    def finished(title, days_ago, published):
        event = make_event(
            organiser, title=title, starts_at=timezone.now() - timedelta(days=days_ago)
        )
        event.phase = Phase.ENDED
        event.recap_published = published
        event.save(update_fields=["phase", "recap_published"])
        return event

    old = finished("Old debate", 60, True)
    new = finished("New debate", 5, True)
    finished("Secret debate", 2, False)
    html = client.get(reverse("events:index")).content.decode()
    assert html.index("Live recap: New debate") < html.index("Live recap: Old debate")
    for event in (old, new):
        assert reverse("recaps:recap", args=[event.slug]) in html
    assert "Secret debate" not in html


def test_ended_events_are_not_offered_to_join(client, organiser):
    done = make_event(organiser, title="Done", starts_at=timezone.now() - timedelta(days=1))
    done.phase = Phase.ENDED
    done.save(update_fields=["phase"])
    assert f"/j/{done.join_code}/" not in client.get(reverse("events:index")).content.decode()


def test_the_index_carries_the_subscribe_form(client, db):
    html = client.get(reverse("events:index")).content.decode()
    assert f'action="{reverse("events:subscribe")}"' in html
    assert 'name="consent"' in html and 'name="email"' in html
