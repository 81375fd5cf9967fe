"""Setting a group's votes aside, and undoing it: the host's answer to a stuffed ballot.

A host who sees a burst on the door panel (debates.door) sets the group aside by its key. Their
votes are kept (a set-aside is undone by flipping flags back, nothing is deleted) but counted
nowhere: not in the live tally, the summary, the recap or the exports, which say instead how
many votes were set aside. Set-aside attendees do not count as joined in turnout either: 1,137
scripted joins would otherwise make a full room look as if 3% of it voted.

Rules, each in one function below:
- only a flagged group (debates.door: a burst, or five or more instant voters), so no host can
  quietly drop one person's vote;
- an attendee is in at most one active set-aside (a new group takes only those not aside yet),
  so undoing one group gives back exactly the votes it took;
- once the recap has been published, nothing is set aside or undone, even if it is taken down:
  two publications that differ by one group's votes would tell how that group voted;
- every set-aside is logged (SetAside): who, when, how many votes; undoing stamps the entry.

Locks: the event's polls (in id order, as votes_cast_batch takes them), then the event (as
poll_open does, and recap_publish locks it too). A ballot is therefore stored either before
the group is set aside (and set aside with it) or after (and stored with counted=False).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from debates import door, live
from debates.models import Poll, SetAside, SetAsideMember, Vote
from events.models import Attendee, Event

SET_ASIDE_KEY_INVALID = _("That group is not on the door panel any more. Reload the console.")
SET_ASIDE_NOT_FLAGGED = _(
    "Only a flagged group can be set aside: a burst of joins from one network, "
    "or five or more people who voted within a second of joining."
)
SET_ASIDE_NOBODY = _("Everyone in that group is set aside already.")
SET_ASIDE_PUBLISHED = _(
    "The recap has been published: its figures can no longer change, "
    "so votes can no longer be set aside or restored."
)
SET_ASIDE_UNDONE_ALREADY = _("That set-aside was undone already.")
HOST_LINK_ACTOR = _("host link")


@dataclass(frozen=True)
class Actor:
    """Who runs a host command, for the logs: an account, or the secret host link."""

    user_id: int | None
    label: str


def actor_for(*, user: object) -> Actor:
    """The actor behind a request or socket that can_host already let in: a signed-in account
    (by its username), else a browser that came in through the host link."""
    if user is not None and getattr(user, "is_authenticated", False):
        return Actor(user_id=user.pk, label=user.get_username())
    return Actor(user_id=None, label=str(HOST_LINK_ACTOR))


def _lock(event: Event) -> tuple[Event, list[int]]:
    """Locks the event's polls, then the event; refuses once its recap has been published."""
    poll_ids = list(
        Poll.objects.select_for_update()
        .filter(event_id=event.pk)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.recap_published or event.recap_first_published_at is not None:
        raise ValidationError(SET_ASIDE_PUBLISHED, code="published")
    return event, poll_ids


def _count(*, attendee_ids: list[int], poll_ids: list[int], counted: bool) -> int:
    """Sets the attendees' flag and their votes' `counted`; bumps and announces each poll
    whose tally changed (one coalesced snapshot per poll, after commit). Returns how many
    votes changed."""
    Attendee.objects.filter(pk__in=attendee_ids).update(set_aside=not counted)
    votes = Vote.objects.filter(
        poll_id__in=poll_ids, attendee_id__in=attendee_ids, counted=not counted
    )
    touched = sorted(set(votes.values_list("poll_id", flat=True)))
    changed = votes.update(counted=counted)
    for poll_id in touched:
        Poll.objects.filter(pk=poll_id).update(version=F("version") + 1)
        transaction.on_commit(partial(live.tally_changed, poll_id))
    return changed


@transaction.atomic
def set_aside(*, event: Event, key: str, actor: Actor) -> SetAside:
    """Sets aside the group a door-panel key names (recomputed here, never taken from the
    client). Raises ValidationError with the reason."""
    event, poll_ids = _lock(event)
    group = door.group_for_key(event_id=event.pk, key=key)
    if group is None:
        raise ValidationError(SET_ASIDE_KEY_INVALID, code="key")
    if group.members and not group.pending:
        raise ValidationError(SET_ASIDE_NOBODY, code="nobody")
    # Flagged by the people it would set aside now (debates.door.group_for_key), never by
    # others set aside before them: one chosen vote cannot be dropped on its own.
    if not group.flagged:
        raise ValidationError(SET_ASIDE_NOT_FLAGGED, code="not_flagged")
    members = list(group.pending)
    votes = _count(attendee_ids=members, poll_ids=poll_ids, counted=False)
    record = SetAside.objects.create(
        event=event,
        label=group.label,
        votes=votes,
        created_by_id=actor.user_id,
        created_by_label=actor.label,
    )
    SetAsideMember.objects.bulk_create(
        [SetAsideMember(set_aside=record, attendee_id=pk) for pk in members], batch_size=1000
    )
    return record


@transaction.atomic
def set_aside_undo(*, set_aside: SetAside, actor: Actor) -> SetAside:
    """Counts a set-aside group's votes again, the ones they cast since included."""
    event, poll_ids = _lock(set_aside.event)
    record = SetAside.objects.select_for_update().get(pk=set_aside.pk, event=event)
    if record.undone_at is not None:
        raise ValidationError(SET_ASIDE_UNDONE_ALREADY, code="undone")
    members = SetAsideMember.objects.filter(set_aside=record).values_list("attendee_id", flat=True)
    _count(attendee_ids=list(members), poll_ids=poll_ids, counted=True)
    record.undone_at = timezone.now()
    record.undone_by_label = actor.label
    record.save(update_fields=["undone_at", "undone_by_label"])
    return record
