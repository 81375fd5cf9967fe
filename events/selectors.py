"""Reads about events. Each returns a queryset or a small value, never writes."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from events.models import (
    EmailStatus,
    Event,
    Invitation,
    Mailing,
    MailingKind,
    Membership,
    OutboundEmail,
    Phase,
    Subscriber,
)


def events_upcoming() -> QuerySet[Event]:
    """Events still to come or running now, soonest first."""
    return (
        Event.objects.exclude(phase=Phase.ENDED)
        .filter(
            Q(ends_at__isnull=True, starts_at__gte=timezone.now() - timezone.timedelta(hours=12))
            | Q(ends_at__gte=timezone.now())
            | ~Q(phase=Phase.LOBBY)
        )
        .order_by("starts_at")
    )


def recaps_published() -> QuerySet[Event]:
    return Event.objects.filter(recap_published=True).order_by("-starts_at")


def events_for_user(user: AbstractBaseUser) -> QuerySet[Event]:
    """Events a signed-in person organises, is on the team of, or hosts or moderates through
    their account."""
    return (
        Event.objects.filter(Q(organiser=user) | Q(memberships__user=user) | Q(speakers__user=user))
        .distinct()
        .annotate(
            # The person's role on each event's team ("" as organiser or speaker): what the
            # list offers them to do with it.
            team_role=Subquery(
                Membership.objects.filter(event=OuterRef("pk"), user=user).values("role")[:1]
            )
        )
        .order_by("-starts_at")
    )


def team_of(event: Event) -> QuerySet[Membership]:
    """The event's team, oldest member first."""
    return Membership.objects.filter(event=event).select_related("user")


def invitations_open(event: Event) -> QuerySet[Invitation]:
    """Invitations sent and not yet accepted or withdrawn, newest first."""
    return Invitation.objects.filter(event=event, accepted_at__isnull=True, revoked_at__isnull=True)


def subscribers_for(user: AbstractBaseUser) -> QuerySet[Subscriber] | None:
    """The subscriber list a person may export, or None if they may not export one.

    Staff see everyone; an organiser sees the people who signed up at their own events.
    """
    if not user.is_authenticated or not user.is_active:
        return None
    subscribers = Subscriber.objects.select_related("source_event").order_by("created_at", "id")
    if user.is_staff or user.is_superuser:
        return subscribers
    if not Event.objects.filter(organiser=user).exists():
        return None
    return subscribers.filter(source_event__organiser=user)


def deletion_summary(event: Event) -> dict[str, int]:
    """What deleting the event removes (events.lifecycle.event_delete), for its confirmation."""
    return {"attendees": event.attendees.count(), "published": int(event.recap_published)}


class Show:
    """The organiser list's filters."""

    ALL = "all"
    UPCOMING = "upcoming"
    LIVE = "live"
    ENDED = "ended"
    ARCHIVED = "archived"
    CHOICES = (ALL, UPCOMING, LIVE, ENDED, ARCHIVED)


def events_shown(events: QuerySet[Event], show: str) -> QuerySet[Event]:
    """One filter of the organiser's list. "all" leaves the archived ones out, as the others do."""
    if show == Show.ARCHIVED:
        return events.filter(archived_at__isnull=False)
    events = events.filter(archived_at__isnull=True)
    if show == Show.UPCOMING:
        return events.filter(phase=Phase.LOBBY)
    if show == Show.LIVE:
        return events.exclude(Q(phase=Phase.LOBBY) | Q(phase=Phase.ENDED))
    if show == Show.ENDED:
        return events.filter(phase=Phase.ENDED)
    return events


# ---------------------------------------------------------------- the outbox


def mailing_audience(event: Event, *, wants: str) -> QuerySet[Subscriber]:
    """Who a list mailing about the event goes to: the confirmed subscribers its organiser may
    export (subscribers_for) who want `wants` ("wants_announcements" or "wants_recaps")."""
    subscribers = subscribers_for(event.organiser)
    if subscribers is None:
        return Subscriber.objects.none()
    return subscribers.filter(confirmed_at__isnull=False, **{wants: True})


def announcement_audience(event: Event) -> dict[str, int]:
    """The organiser's list as the announcement sees it: who would get it, who has not
    confirmed yet (and gets nothing)."""
    subscribers = subscribers_for(event.organiser)
    if subscribers is None:
        return {"confirmed": 0, "unconfirmed": 0}
    return {
        "confirmed": mailing_audience(event, wants="wants_announcements").count(),
        "unconfirmed": subscribers.filter(confirmed_at__isnull=True).count(),
    }


def event_is_announceable(event: Event) -> bool:
    """Not started yet, and no announcement of it still being sent (events.outbox's rule)."""
    if event.phase != Phase.LOBBY or event.starts_at < timezone.now():
        return False
    return not event.mailings.filter(
        kind=MailingKind.ANNOUNCEMENT, finished_at__isnull=True
    ).exists()


def outbox_for(event: Event) -> QuerySet[Mailing]:
    """The event's mailings, newest first, each with its counts per status and its emails
    (to whom, status, when sent): three queries whatever the size of the list."""
    counts = {
        f"n_{status}": Count("emails", filter=Q(emails__status=status))
        for status in EmailStatus.values
    }
    return (
        Mailing.objects.filter(event=event)
        .select_related("created_by")
        .annotate(n_all=Count("emails"), **counts)
        .prefetch_related(Prefetch("emails", queryset=OutboundEmail.objects.order_by("to")))
        .order_by("-created_at", "-id")
    )
