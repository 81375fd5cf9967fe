"""Rules about events and the people at them. Writes only; reads are in selectors.py."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from events.models import JOIN_CODE_LENGTH, Attendee, Event

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


# ---------------------------------------------------------------- joining (live voting)

DISPLAY_NAME_MAX_LENGTH = 40


def display_name_clean(raw: str) -> str:
    """Collapses runs of whitespace and trims to the column size."""
    return " ".join(raw.split())[:DISPLAY_NAME_MAX_LENGTH]


@transaction.atomic
def attendee_join(*, event: Event, token: str | None = None, display_name: str = "") -> Attendee:
    """The attendee this browser already is at the event, or a new one.

    `token` is the secret the browser's session kept from an earlier join: coming back (a
    reload, a second scan of the QR code) must not count the same person twice. A blank name
    keeps the one given before.
    """
    display_name = display_name_clean(display_name)
    if token:
        attendee = Attendee.objects.filter(event=event, token=token).first()
        if attendee is not None:
            if display_name and display_name != attendee.display_name:
                attendee.display_name = display_name
                attendee.save(update_fields=["display_name"])
            return attendee
    return Attendee.objects.create(
        event=event, token=secrets.token_urlsafe(32), display_name=display_name
    )
