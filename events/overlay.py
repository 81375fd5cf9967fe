"""The streaming overlay's link (issue 17): a key derived from the event and its overlay
generation with the project's secret, so nothing secret is stored and rotating the link
(events.services.overlay_key_rotate) is a counter going up by one."""

from __future__ import annotations

from django.utils.crypto import constant_time_compare, salted_hmac

from events.models import Event

_SALT = "productbreaks.events.overlay"


def overlay_key(event: Event) -> str:
    value = f"{event.pk}:{event.overlay_generation}"
    return salted_hmac(_SALT, value, algorithm="sha256").hexdigest()[:32]


def overlay_key_valid(event: Event, key: str) -> bool:
    return constant_time_compare(key, overlay_key(event))
