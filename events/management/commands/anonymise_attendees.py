"""Forgets who the attendees of past events were (events.services.attendees_anonymise).

manage.py anonymise_attendees            # events that ended ATTENDEE_DATA_DAYS ago or more
manage.py anonymise_attendees --days 7
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from events.services import ATTENDEE_DATA_DAYS, attendees_anonymise


class Command(BaseCommand):
    help = "Blank the names and replace the tokens of attendees of events that ended long ago."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=ATTENDEE_DATA_DAYS,
            help=f"Days after an event ends (default {ATTENDEE_DATA_DAYS}).",
        )

    def handle(self, *args, days: int, **options) -> None:
        if days < 0:
            self.stderr.write("--days cannot be negative.")
            raise SystemExit(2)
        count = attendees_anonymise(ended_before=timezone.now() - timedelta(days=days))
        self.stdout.write(f"{count} attendee(s) anonymised.")
