"""Machine-readable times for <time datetime="...">."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def datetime_attr(value: datetime | None) -> str:
    """ISO 8601 in the current time zone, to the millisecond: HTML allows at most three digits
    of a second (Django's "c" format prints six), and scripts read it with Date.parse."""
    if not value:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.isoformat(timespec="milliseconds")
