"""Prints what a person needs to try the demo: links (the projector shows the join code), the
demo logins."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.urls import NoReverseMatch, reverse

from debates.management.commands.seed_demo import DEMO_PASSWORD, DEMO_SLUG, DEMO_USERS, LIVE_SLUG
from events import team
from events.admission import projector_key
from events.models import Event


def _url(base: str, name: str, **kwargs: str) -> str | None:
    try:
        return base + reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return None  # that page belongs to a feature this checkout does not have


def _invitation_lines(base: str, event: Event) -> list[str]:
    invitation = event.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True).first()
    if invitation is None:
        return []
    url = _url(base, "events:invitation", token=team.invitation_token(invitation))
    return [
        f"  Team invitation    {url}",
        f"                     (join its team as a moderator, {invitation.email}: choose a password)",
    ]


class Command(BaseCommand):
    help = "Prints the demo's URLs and logins."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--base", default="http://127.0.0.1:8000")

    def handle(self, *args: object, base: str, **options: object) -> None:
        base = base.rstrip("/")
        live = Event.objects.get(slug=LIVE_SLUG)
        done = Event.objects.get(slug=DEMO_SLUG)
        lines = [
            "",
            "productbreaks demo",
            "==================",
            f"Home page            {base}/",
            "",
            f"Live event: {live.title}  (motion: {live.motion})",
            f"  Projector link     {_url(base, 'debates:projector_link', slug=live.slug, key=projector_key(live))}",
            "                     (shows the code and QR code that let people in; they change every minute)",
            f"  Attendees join at  {_url(base, 'debates:join')}  with the code the projector shows",
            f"  Host console       {_url(base, 'debates:console', slug=live.slug)}",
            f"  Host secret link   {_url(base, 'debates:host_link', slug=live.slug, key=live.host_key)}",
            *_invitation_lines(base, live),
            "",
            f"Finished event: {done.title}",
            f"  Organiser summary  {_url(base, 'recaps:summary', slug=done.slug)}",
            f"  Public recap       {_url(base, 'recaps:recap', slug=done.slug)}",
            "",
            f"Admin                {base}/admin/",
            "Logins (password for all: " + DEMO_PASSWORD + "): " + ", ".join(DEMO_USERS),
            "",
        ]
        self.stdout.write("\n".join(line for line in lines if "None" not in line))
