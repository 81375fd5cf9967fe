"""Rules about events and the people at them. Writes only; reads are in selectors.py."""

from __future__ import annotations

import ipaddress
import logging
import secrets
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from events import outbox, signals, tokens
from events.models import JOIN_CODE_LENGTH, Attendee, Event, Side, Speaker, Subscriber, Turn

# The signed links live in events.tokens (events.mail builds them too); named here as before.
from events.tokens import (  # noqa: F401
    UNSUBSCRIBE_LINK_INVALID,
    UNSUBSCRIBE_SALT,
    subscriber_email_for,
    unsubscribe_token,
)

# Crockford-style: no I, L, O or U, so a code read off a projector cannot be mistyped
# as a look-alike; join_code_normalise() maps the look-alikes back.
JOIN_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def join_code_generate() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def join_code_normalise(raw: str) -> str:
    """What a person typed, as the code it most likely means ("k7m 2qx" -> "K7M2QX")."""
    cleaned = "".join(ch for ch in raw.upper() if ch.isalnum())
    return cleaned.translate(_LOOKALIKES)


def join_code_display(code: str) -> str:
    """Codes are shown in two halves, easier to read aloud: K7M-2QX."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def _unique_slug(title: str) -> str:
    base = slugify(title)[:70] or "event"
    slug, n = base, 2
    while Event.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def event_create(
    *,
    organiser: AbstractBaseUser,
    title: str,
    motion: str,
    starts_at: datetime,
    slug: str = "",
    **fields: object,
) -> Event:
    """Creates an event with a fresh, unique join code and host link key."""
    for _attempt in range(10):
        try:
            with transaction.atomic():
                return Event.objects.create(
                    organiser=organiser,
                    title=title,
                    motion=motion,
                    starts_at=starts_at,
                    slug=slug or _unique_slug(title),
                    join_code=join_code_generate(),
                    host_key=secrets.token_urlsafe(24),
                    **fields,
                )
        except IntegrityError:
            # A join code collision is rare (32^6 codes); anything else repeats and is raised.
            if slug and Event.objects.filter(slug=slug).exists():
                raise
    raise RuntimeError("Could not find a free join code after 10 attempts.")


# ---------------------------------------------------------------- the speakers' turns

# Default lengths (seconds) of the turns built from the speakers: the Intelligence Squared
# running order, shortened for a product evening.
OPENING_SECONDS, REBUTTAL_SECONDS, CLOSING_SECONDS = 420, 180, 120


@transaction.atomic
def turns_from_speakers(*, event: Event) -> list[Turn]:
    """Builds the running order from the speakers who argue a side, if the event has no turns:
    an opening per speaker, FOR and AGAINST alternating, then a rebuttal and a closing per side
    by its first speaker. Returns the turns created (none when the event had turns already)."""
    if Turn.objects.filter(event=event).exists():
        return []
    speakers = list(Speaker.objects.filter(event=event).exclude(side="").order_by("position", "id"))
    by_side = {side: [s for s in speakers if s.side == side] for side in (Side.FOR, Side.AGAINST)}
    plan: list[tuple[str, Speaker, int]] = []
    for n in range(max((len(v) for v in by_side.values()), default=0)):
        for side in (Side.FOR, Side.AGAINST):
            if n < len(by_side[side]):
                plan.append((_("Opening %(side)s"), by_side[side][n], OPENING_SECONDS))
    for label, seconds in (
        (_("Rebuttal %(side)s"), REBUTTAL_SECONDS),
        (_("Closing %(side)s"), CLOSING_SECONDS),
    ):
        for side in (Side.FOR, Side.AGAINST):
            if by_side[side]:
                plan.append((label, by_side[side][0], seconds))
    return Turn.objects.bulk_create(
        Turn(
            event=event,
            label=f"{label % {'side': str(speaker.get_side_display()).upper()}}: {speaker.name}"[
                :120
            ],
            speaker=speaker,
            side=speaker.side,
            seconds=seconds,
            position=position,
        )
        for position, (label, speaker, seconds) in enumerate(plan)
    )


# ---------------------------------------------------------------- subscribing

SUBSCRIBE_EMAIL_INVALID = _("Enter a valid email address, like name@example.org.")
SUBSCRIBE_CONSENT_MISSING = _("Tick the box to agree to hear from us about future events.")
SUBSCRIBE_NOTHING_CHOSEN = _("Choose what you would like to hear about.")
CONFIRM_NOT_ON_LIST = _(
    "This address is no longer on the list (it was unsubscribed). Sign up again to come back."
)


@transaction.atomic
def subscriber_add(
    *,
    email: str,
    consented: bool,
    source_event: Event | None = None,
    now: datetime | None = None,
    announcements: bool = True,
    recaps: bool = True,
) -> tuple[Subscriber, bool]:
    """Puts an email on the list, unconfirmed, or merges it into the row already there:
    (subscriber, created). Queues the one email an unconfirmed address may get: a signed link
    to confirm (events.outbox.confirmation_queue, at most one per address every 10 minutes).

    An address is one person whatever its case. Signing up again refreshes the consent time
    (the latest consent is the one on record) and keeps the event they first signed up at. The
    lists chosen (announcements, recaps) are the row's until it is confirmed; a confirmed
    subscriber's choice changes only through the new link, so nobody else can change it.
    Raises ValidationError with SUBSCRIBE_CONSENT_MISSING, SUBSCRIBE_EMAIL_INVALID or
    SUBSCRIBE_NOTHING_CHOSEN.
    """
    if not consented:
        raise ValidationError(SUBSCRIBE_CONSENT_MISSING, code="consent")
    email = email.strip().lower()
    if not email_valid(email):
        raise ValidationError(SUBSCRIBE_EMAIL_INVALID, code="invalid")
    if not (announcements or recaps):
        raise ValidationError(SUBSCRIBE_NOTHING_CHOSEN, code="nothing")
    now = now or timezone.now()
    subscriber, created = Subscriber.objects.select_for_update().get_or_create(
        email=email,
        defaults={
            "consented_at": now,
            "source_event": source_event,
            "wants_announcements": announcements,
            "wants_recaps": recaps,
        },
    )
    if not created:
        subscriber.consented_at = now
        fields = ["consented_at"]
        if subscriber.source_event_id is None and source_event is not None:
            subscriber.source_event = source_event
            fields.append("source_event")
        if subscriber.confirmed_at is None:
            subscriber.wants_announcements, subscriber.wants_recaps = announcements, recaps
            fields += ["wants_announcements", "wants_recaps"]
        subscriber.save(update_fields=fields)
    outbox.confirmation_queue(
        email=email, announcements=announcements, recaps=recaps, event=source_event
    )
    return subscriber, created


@transaction.atomic
def subscriber_confirm(*, token: str, now: datetime | None = None) -> Subscriber:
    """Confirms the sign-up a link was made for (double opt-in), with the lists it chose.
    Confirming twice is harmless. Raises ValidationError: CONFIRM_LINK_INVALID (altered or
    too old), CONFIRM_NOT_ON_LIST (unsubscribed since)."""
    sign_up = tokens.sign_up_for(token)
    subscriber = Subscriber.objects.select_for_update().filter(email=sign_up.email).first()
    if subscriber is None:
        raise ValidationError(CONFIRM_NOT_ON_LIST, code="gone")
    subscriber.confirmed_at = subscriber.confirmed_at or now or timezone.now()
    subscriber.wants_announcements = sign_up.announcements
    subscriber.wants_recaps = sign_up.recaps
    subscriber.save(update_fields=["confirmed_at", "wants_announcements", "wants_recaps"])
    return subscriber


@transaction.atomic
def subscriber_remove(*, token: str) -> bool:
    """Takes the address a link was made for off the list (the row is deleted: we keep no
    email we may not use). False if it was not on the list; removing twice is harmless."""
    deleted, _by_model = Subscriber.objects.filter(
        email=tokens.subscriber_email_for(token)
    ).delete()
    return deleted > 0


def email_valid(email: str) -> bool:
    """An address we can store and send to (a subscriber's, an invitation's)."""
    if len(email) > Subscriber._meta.get_field("email").max_length:
        return False
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


# ---------------------------------------------------------------- joining (live voting)

DISPLAY_NAME_MAX_LENGTH = 40


def display_name_clean(raw: str) -> str:
    """Collapses runs of whitespace and trims to the column size."""
    return " ".join(raw.split())[:DISPLAY_NAME_MAX_LENGTH]


NOT_REHEARSING = _("This event is not being rehearsed: simulated people cannot join it.")


@transaction.atomic
def attendee_join(
    *,
    event: Event,
    token: str | None = None,
    display_name: str = "",
    network: str = "",
    simulated: bool = False,
) -> Attendee:
    """The attendee this browser already is at the event, or a new one.

    `token` is the secret the browser's session kept from an earlier join: coming back (a
    reload, a second scan of the QR code) must not count the same person twice. A blank name
    keeps the one given before. `network` is the keyed hash of where a new attendee joined
    from (events.admission.network_hash), for the host's door panel.

    `simulated`: a rehearsal's simulated person (debates.services.rehearsal), refused unless the
    event is rehearsing. Anyone who joins a rehearsing event is simulated too: the rehearsal's
    reset removes them with everything else it left.
    """
    display_name = display_name_clean(display_name)
    if token:
        attendee = Attendee.objects.filter(event=event, token=token).first()
        if attendee is not None:
            if display_name and display_name != attendee.display_name:
                attendee.display_name = display_name
                attendee.save(update_fields=["display_name"])
            return attendee
    # Read fresh: the caller's event may predate a rehearsal's start or reset. Only while one
    # runs is the event row locked, so a join and a reset queue (a join storm takes no lock).
    rehearsing = Event.objects.filter(pk=event.pk, rehearsing=True).exists()
    if rehearsing or simulated:
        rehearsing = Event.objects.select_for_update().filter(pk=event.pk, rehearsing=True).exists()
    if simulated and not rehearsing:
        raise ValidationError(NOT_REHEARSING, code="not_rehearsing")
    return Attendee.objects.create(
        event=event,
        token=secrets.token_urlsafe(32),
        display_name=display_name,
        network=network,
        simulated=rehearsing,
    )


# ---------------------------------------------------------------- organising (host console)

# What an organiser may change on an event, in the order the edit form shows it.
EVENT_EDITABLE_FIELDS = (
    "title",
    "motion",
    "intro",
    "starts_at",
    "ends_at",
    "format",
    "venue",
    "admission",
    "video_url",
    "room_video_pattern",
    "language",
)


@transaction.atomic
def event_update(*, event: Event, **fields: object) -> Event:
    """Changes an event's details; pages open on it pick up the change."""
    unknown = set(fields).difference((*EVENT_EDITABLE_FIELDS, "series"))
    if unknown:
        raise ValueError(f"Not editable here: {sorted(unknown)}")
    # Compared with the stored row: a bound ModelForm has already copied its data onto `event`.
    event = Event.objects.select_for_update().get(pk=event.pk)
    changed = [name for name, value in fields.items() if getattr(event, name) != value]
    for name in changed:
        setattr(event, name, fields[name])
    if changed:
        event.save(update_fields=[*changed, "updated_at"])
        _event_changed_on_commit(event.pk)
    return event


@transaction.atomic
def host_key_rotate(*, event: Event) -> Event:
    """A new secret host link; browsers that came in through the old one lose host rights.

    Their open sockets too, within a second of the commit: debates.host_rights announces this
    save (events must not import the debate) and debates.live.hosts demotes those sockets.
    """
    event.host_key = secrets.token_urlsafe(24)
    event.save(update_fields=["host_key", "updated_at"])
    return event


@transaction.atomic
def overlay_key_rotate(*, event: Event) -> Event:
    """A new streaming overlay link (events/overlay.py); the old one no longer opens."""
    Event.objects.filter(pk=event.pk).update(overlay_generation=F("overlay_generation") + 1)
    event.refresh_from_db(fields=["overlay_generation"])
    return event


def _event_changed_on_commit(event_id: int) -> None:
    # A signal of our own, as `events` must not import the debate that shows the change. Not the
    # Event post_save the debate already receives (debates.host_rights): that fires on every
    # save, the phase changes the debate announces itself and the host link's rotation among
    # them, so it would announce those twice; this fires only when a detail changed, on commit.
    transaction.on_commit(lambda: signals.event_changed.send(sender=Event, event_id=event_id))


# ---------------------------------------------------------------- limits (security)
# Counters live in Django's cache (productbreaks.settings): Redis when REDIS_URL is set, so one
# count holds across every process; the process's memory otherwise. Only FAILED join codes are
# counted: a venue where 500 people share one address joins freely, while someone trying codes
# is stopped after JOIN_GUESS_LIMIT misses: from then on every WRONG code from that network is
# refused until the window ends. A code that is right (the screen's code now, an open event's
# code, a QR link) still admits, or one prankster on the venue Wi-Fi would lock out the room.
# That tells a guesser when a guess was right, which is fine: a screen code is one of 32^6,
# lives for 90 s, and nginx's limit_req (deploy/) caps how fast anyone can try (SECURITY.md).
# A cache that is down lets people through and logs it: an outage of the counter must not lock
# a room out of its event.

JOIN_GUESS_LIMIT = 100  # wrong codes per client address per window
JOIN_GUESS_WINDOW = 10 * 60  # seconds, counted from the first wrong code
JOIN_TOO_MANY_GUESSES = _(
    "Too many wrong codes were tried from your network. Type the code on the screen exactly, "
    "or scan the QR code on the screen."
)

_limits_log = logging.getLogger("productbreaks.limits")


def network_of(address: str) -> str:
    """The network a client address stands for: an IPv4 address, or an IPv6 /64 (one
    household or phone gets a whole /64 and may pick any address in it). Limits count per
    network, so an IPv6 guesser cannot take a fresh address for every try."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _guess_key(client: str) -> str:
    return f"join-guesses:{network_of(client)}"


def join_guesses_exceeded(*, client: str) -> bool:
    """Whether this client address has used up its wrong join codes for now."""
    try:
        return (cache.get(_guess_key(client)) or 0) >= JOIN_GUESS_LIMIT
    except Exception:
        _limits_log.warning("join throttle: the cache is unreachable; letting it through")
        return False


def join_guess_failed(*, client: str) -> int:
    """Counts one wrong join code from this client address; returns the count so far."""
    key = _guess_key(client)
    try:
        # add() starts the window only if no count is running; incr() is atomic in Redis.
        cache.add(key, 0, timeout=JOIN_GUESS_WINDOW)
        try:
            return cache.incr(key)
        except ValueError:  # the window ended between the two calls
            cache.add(key, 1, timeout=JOIN_GUESS_WINDOW)
            return 1
    except Exception:
        _limits_log.warning("join throttle: the cache is unreachable; not counted")
        return 0


# ---------------------------------------------------------------- retention (security)
# What we keep about attendees: the votes, points and upvotes stay with the event (they make
# its tally and its recap), but ATTENDEE_DATA_DAYS after an event the people behind them are
# forgotten: display names are blanked and the secret tokens replaced, so no browser session
# can be linked to its votes again. Sessions themselves expire after SESSION_COOKIE_AGE and go
# with `manage.py clearsessions`. Run `manage.py anonymise_attendees` daily (deploy/).

ATTENDEE_DATA_DAYS = 30
ANONYMISED_TOKEN_PREFIX = "anon-"  # noqa: S105 - a marker, not a secret


@transaction.atomic
def attendees_anonymise(*, ended_before: datetime) -> int:
    """Forgets who the attendees of events that ended before `ended_before` were.

    An event without an end time counts as ended when it started. Attendees already forgotten
    are left alone, so running it again changes nothing. Returns how many were forgotten.
    """
    from django.db.models import Q

    ended = Q(event__ends_at__lt=ended_before) | Q(
        event__ends_at__isnull=True, event__starts_at__lt=ended_before
    )
    attendees = list(
        Attendee.objects.filter(ended).exclude(token__startswith=ANONYMISED_TOKEN_PREFIX).only("pk")
    )
    for attendee in attendees:
        attendee.display_name = ""
        attendee.token = ANONYMISED_TOKEN_PREFIX + secrets.token_urlsafe(32)
        attendee.last_seen_at = None
        attendee.network = ""
    Attendee.objects.bulk_update(
        attendees, ["display_name", "token", "last_seen_at", "network"], batch_size=500
    )
    return len(attendees)
