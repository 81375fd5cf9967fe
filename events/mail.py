"""Each email the outbox sends, built through Django's email framework: an
EmailMultiAlternatives with a text body and an HTML alternative (templates/events/email/), in
the event's language, with the row's fixed Message-ID.

Emails to the list (announcements, recaps) carry one-click unsubscribe as RFC 8058 describes:
`List-Unsubscribe: <https://.../unsubscribe/<token>/>` and `List-Unsubscribe-Post:
List-Unsubscribe=One-Click`, and the same link in the body. An announcement carries the event
as an .ics attachment (events.calendar) and "add to calendar" links.
"""

from __future__ import annotations

from datetime import UTC
from email.message import MIMEPart
from email.utils import make_msgid
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from events.calendar import DEFAULT_LENGTH, event_calendar
from events.links import join_path
from events.models import Event, Mailing, MailingKind, OutboundEmail
from events.tokens import SignUp, confirm_token, unsubscribe_token

ONE_CLICK = "List-Unsubscribe=One-Click"


def site_url(path: str) -> str:
    """An absolute link to a page of the site (settings.SITE_URL: emails have no request)."""
    return settings.SITE_URL + path


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def new_message_id() -> str:
    return make_msgid(domain=site_host())


def unsubscribe_url(email: str) -> str:
    return site_url(reverse("events:unsubscribe", args=[unsubscribe_token(email)]))


def event_ics(event: Event) -> bytes:
    return event_calendar(
        event,
        host=site_host(),
        page_url=site_url(event.get_absolute_url()),
        join_url=site_url(join_path(event)),
    )


def google_calendar_url(event: Event) -> str:
    """Google Calendar's "add event" link (for people whose mail app ignores the .ics)."""
    stamp = "%Y%m%dT%H%M%SZ"
    starts = event.starts_at.astimezone(UTC)
    ends = (event.ends_at or event.starts_at + DEFAULT_LENGTH).astimezone(UTC)
    query = {
        "action": "TEMPLATE",
        "text": event.title,
        "dates": f"{starts.strftime(stamp)}/{ends.strftime(stamp)}",
        "details": f"{event.motion}\n\n{site_url(event.get_absolute_url())}",
        "location": event.venue or site_url(event.get_absolute_url()),
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(query)


def mailing_language(mailing: Mailing) -> str:
    """Emails about an event are written in the event's language; others in the language
    the person used when it was queued (kept in the mailing's content)."""
    if mailing.event is not None:
        return mailing.event.language
    return mailing.content.get("language") or settings.LANGUAGE_CODE


def _ics_part(event: Event) -> MIMEPart:
    part = MIMEPart()
    part.set_content(
        event_ics(event).decode(),
        subtype="calendar",
        params={"method": "PUBLISH"},
        disposition="attachment",
        filename=f"{event.slug}.ics",
    )
    return part


def _context(email: OutboundEmail, mailing: Mailing) -> dict:
    event = mailing.event
    context: dict = {"mailing": mailing, "event": event, "to": email.to, **mailing.content}
    context["home_url"] = site_url(reverse("events:index"))
    if mailing.kind == MailingKind.CONFIRM:
        sign_up = SignUp(
            email=email.to,
            announcements=bool(mailing.content.get("announcements", True)),
            recaps=bool(mailing.content.get("recaps", True)),
        )
        context["confirm_url"] = site_url(
            reverse("events:subscribe_confirm", args=[confirm_token(sign_up)])
        )
    if mailing.has_list_headers:
        context["unsubscribe_url"] = unsubscribe_url(email.to)
    if event is not None:
        context["event_url"] = site_url(event.get_absolute_url())
        context["starts_at"] = timezone.localtime(event.starts_at)
    if mailing.kind == MailingKind.ANNOUNCEMENT:
        context["ics_url"] = site_url(reverse("events:event_ics", args=[event.slug]))
        context["google_url"] = google_calendar_url(event)
        context["join_url"] = site_url(join_path(event))
    if mailing.kind == MailingKind.RECAP:
        context["recap_url"] = site_url(reverse("recaps:recap", args=[event.slug]))
    return context


def build_message(email: OutboundEmail, mailing: Mailing) -> EmailMultiAlternatives:
    """The email of one outbox row, ready for a mailer's send_messages."""
    headers = {"Message-ID": email.message_id}
    with translation.override(mailing_language(mailing)):
        context = _context(email, mailing)
        if mailing.kind in {MailingKind.TRANSACTIONAL, MailingKind.INVITATION}:
            text, html = mailing.content.get("text", ""), mailing.content.get("html") or None
        else:
            text = render_to_string(f"events/email/{mailing.kind}.txt", context)
            html = render_to_string(f"events/email/{mailing.kind}.html", context)
    if mailing.has_list_headers:
        headers["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        headers["List-Unsubscribe-Post"] = ONE_CLICK
    message = EmailMultiAlternatives(
        subject=mailing.subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers=headers,
    )
    if html:
        message.attach_alternative(html, "text/html")
    if mailing.kind == MailingKind.ANNOUNCEMENT:
        message.attach(_ics_part(mailing.event))
    return message
