"""An event's team (issue 17): an organiser invites by email, the signed link sets a password
with Django's auth, and the role it gives is the event's only; links are single-use, expire,
and die when the invitation is sent again or withdrawn."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail, signing
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from debates.live import hosts as live_hosts
from debates.selectors import can_host
from events import team
from events.access import can_edit
from events.models import Event, Invitation, Membership, TeamRole
from tests.conftest import make_event

pytestmark = pytest.mark.django_db
PASSWORD = "a long-enough pass phrase 7"


def _invite(client, event, email, role=TeamRole.HOST):
    return client.post(reverse("events:team", args=[event.slug]), {"email": email, "role": role})


def _link_from_email(message) -> str:
    """The invitation's path; the email's link is absolute, on SITE_URL."""
    [url] = re.findall(r"https?://\S+/invitations/\S+/", message.body)
    assert url.startswith(settings.SITE_URL + "/invitations/")
    return urlsplit(url).path


@pytest.fixture
def organiser_client(organiser) -> Client:
    client = Client()
    client.force_login(organiser)
    return client


def test_an_invited_host_sets_a_password_joins_and_runs_only_that_console(
    organiser, organiser_client, django_capture_on_commit_callbacks
):
    event = make_event(organiser, title="Spring debate")
    other = make_event(organiser, title="Autumn debate")
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(organiser_client, event, "  Nia@Example.org ")
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == ["nia@example.org"]
    assert "Spring debate" in message.subject and "Host" in message.body
    link = _link_from_email(message)

    # The organiser's team page lists it as not joined yet, with the same link: only for the
    # one who sent it (a co-organiser could otherwise make the account with it).
    page = organiser_client.get(reverse("events:team", args=[event.slug])).content.decode()
    assert "nia@example.org" in page and link in page
    co_organiser = get_user_model().objects.create_user("co")
    Membership.objects.create(event=event, user=co_organiser, role=TeamRole.CO_ORGANISER)
    co_client = Client()
    co_client.force_login(co_organiser)
    page = co_client.get(reverse("events:team", args=[event.slug])).content.decode()
    assert "nia@example.org" in page and link not in page

    newcomer = Client()
    form = newcomer.get(link)
    assert form.status_code == 200 and "Choose a password" in form.content.decode()
    mismatch = newcomer.post(link, {"new_password1": PASSWORD, "new_password2": PASSWORD + "x"})
    assert mismatch.status_code == 400
    weak = newcomer.post(link, {"new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 400 and "too common" in weak.content.decode()
    assert not get_user_model().objects.filter(email="nia@example.org").exists()

    joined = newcomer.post(link, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert joined.status_code == 302 and joined["Location"] == reverse(
        "debates:console", args=[event.slug]
    )
    user = get_user_model().objects.get(email="nia@example.org")
    assert user.check_password(PASSWORD) and user.username == "nia@example.org"
    assert Membership.objects.get(event=event, user=user).role == TeamRole.HOST
    assert Invitation.objects.get(event=event).accepted_by == user

    # Signed in by the join: the console of that event opens, another event's does not, and
    # hosting is not editing.
    assert newcomer.get(reverse("debates:console", args=[event.slug])).status_code == 200
    assert newcomer.get(reverse("debates:console", args=[other.slug])).status_code == 403
    assert newcomer.get(reverse("events:event_edit", args=[event.slug])).status_code == 403
    assert can_host(event=event, user=user, session={}) and not can_edit(event=event, user=user)

    # The password works for signing in afresh.
    assert Client().login(username="nia@example.org", password=PASSWORD)
    # And the link is spent.
    again = Client().get(link)
    assert again.status_code == 400 and "already used or withdrawn" in again.content.decode()


def test_a_co_organiser_edits_and_invites_but_cannot_delete(
    organiser, organiser_client, django_capture_on_commit_callbacks
):
    event = make_event(organiser)
    with django_capture_on_commit_callbacks(execute=True):
        _invite(organiser_client, event, "co@example.org", TeamRole.CO_ORGANISER)
    link = _link_from_email(mail.outbox[0])
    co = Client()
    response = co.post(link, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert response["Location"] == reverse("events:event_edit", args=[event.slug])
    assert co.get(reverse("events:event_edit", args=[event.slug])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert _invite(co, event, "mod@example.org", TeamRole.MODERATOR).status_code == 302
    assert Invitation.objects.get(email="mod@example.org").role == TeamRole.MODERATOR
    # The organiser's list offers them the event, without the deletion.
    home = co.get(reverse("events:organiser_home")).content.decode()
    assert event.title in home and reverse("events:event_delete", args=[event.slug]) not in home
    refused = co.post(reverse("events:event_delete", args=[event.slug]), {"title": event.title})
    assert refused.status_code == 403
    assert Event.objects.filter(pk=event.pk).exists()


def test_an_existing_account_signs_in_to_accept_and_another_account_cannot(
    organiser, organiser_client, stranger_user, django_capture_on_commit_callbacks
):
    event = make_event(organiser)
    owner = get_user_model().objects.create_user("kim", email="kim@example.org", password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        _invite(organiser_client, event, "KIM@example.org", TeamRole.MODERATOR)
    link = _link_from_email(mail.outbox[0])

    # Not signed in: sent to sign in, back to the link after; no password form for the address.
    anonymous = Client().get(link)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))

    # Signed in as someone else: refused, and nothing changes.
    other = Client()
    other.force_login(stranger_user)
    for response in (other.get(link), other.post(link)):
        assert response.status_code == 403
        assert "for another email address" in response.content.decode()
    assert not Membership.objects.exists()

    kim = Client()
    kim.force_login(owner)
    assert "Join the team" in kim.get(link).content.decode()
    assert kim.post(link).status_code == 302
    assert Membership.objects.get(event=event, user=owner).role == TeamRole.MODERATOR


def test_a_link_that_was_altered_expired_resent_or_withdrawn_does_not_open(
    organiser, organiser_client
):
    event = make_event(organiser)
    first = team.invitation_send(
        event=event, email="ann@example.org", role=TeamRole.HOST, invited_by=organiser
    )
    first_token = team.invitation_token(first)

    def opens(token: str) -> tuple[int, str]:
        response = Client().get(reverse("events:invitation", args=[token]))
        return response.status_code, response.content.decode()

    assert opens(first_token)[0] == 200
    status, page = opens(first_token[:-2] + ("AA" if not first_token.endswith("AA") else "BB"))
    assert status == 400 and "link is broken" in page

    # Sent again at once: refused (a double click). A minute on, with a new role: the old
    # link dies, the new one opens, and it is still one invitation.
    with pytest.raises(ValidationError, match="a moment ago"):
        team.invitation_send(
            event=event, email="ann@example.org", role=TeamRole.MODERATOR, invited_by=organiser
        )
    Invitation.objects.filter(pk=first.pk).update(
        sent_at=first.sent_at - team.INVITATION_RESEND_AFTER
    )
    first_token = team.invitation_token(Invitation.objects.get(pk=first.pk))
    assert opens(first_token)[0] == 200
    again = team.invitation_send(
        event=event, email="ann@example.org", role=TeamRole.MODERATOR, invited_by=organiser
    )
    assert again.pk == first.pk and Invitation.objects.count() == 1
    assert "already used or withdrawn" in opens(first_token)[1]
    second_token = team.invitation_token(again)
    assert opens(second_token)[0] == 200

    # Fifteen days on, the link has expired.
    later = timezone.now() + team.INVITATION_MAX_AGE + timedelta(days=1)
    with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
        status, page = opens(second_token)
    assert status == 400 and "expired" in page

    # Withdrawn: closed.
    response = organiser_client.post(
        reverse("events:team_invitation_withdraw", args=[event.slug]), {"invitation": again.pk}
    )
    assert response.status_code == 302
    assert "already used or withdrawn" in opens(second_token)[1]
    with pytest.raises(signing.BadSignature):
        signing.TimestampSigner(salt="another salt").unsign_object(second_token)


def test_bad_invitations_are_refused_with_a_message_and_nothing_is_sent(
    organiser, organiser_client, host_user, django_capture_on_commit_callbacks
):
    event = make_event(organiser)
    Membership.objects.create(event=event, user=host_user, role=TeamRole.HOST)
    host_user.email = "hal@example.org"
    host_user.save()
    organiser.email = "org@example.org"
    organiser.save()
    cases = [
        ({"email": "not an address", "role": "host"}, "Enter a valid email address"),
        ({"email": "x@example.org", "role": "owner"}, "Select a valid choice"),
        ({"email": "hal@example.org", "role": "host"}, "already on the event"),
        ({"email": "org@example.org", "role": "host"}, "event&#x27;s organiser"),
    ]
    for data, message in cases:
        with django_capture_on_commit_callbacks(execute=True):
            response = organiser_client.post(reverse("events:team", args=[event.slug]), data)
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    assert not Invitation.objects.exists() and mail.outbox == []


def test_taking_someone_off_the_team_ends_their_console_at_once(
    organiser, organiser_client, django_capture_on_commit_callbacks
):
    event = make_event(organiser)
    member = get_user_model().objects.create_user("sam", email="sam@example.org")
    membership = Membership.objects.create(event=event, user=member, role=TeamRole.HOST)
    assert can_host(event=event, user=member, session={})
    with (
        mock.patch.object(live_hosts, "hosts_changed") as changed,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = organiser_client.post(
            reverse("events:team_member_remove", args=[event.slug]), {"member": membership.pk}
        )
    assert response.status_code == 302
    assert not can_host(event=event, user=member, session={})
    # The debate's host_rights heard of it after commit: its open sockets are checked again.
    changed.assert_called_with(event_id=event.pk)


def test_the_invitation_email_is_written_in_the_events_language(
    organiser, organiser_client, django_capture_on_commit_callbacks
):
    event = make_event(organiser, title="Débat d’automne", language="fr")
    with django_capture_on_commit_callbacks(execute=True):
        _invite(organiser_client, event, "lea@example.org", TeamRole.MODERATOR)
    [message] = mail.outbox
    assert message.subject == "Vous êtes invité dans l’équipe de « Débat d’automne »"
    assert "en tant que Modérateur" in message.body and "Ouvrez ce lien" in message.body
