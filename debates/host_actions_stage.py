"""The stage's host actions (the speakers' clock, the reveal, the streaming overlay's link),
registered into the one registry, debates.host_actions.HOST_ACTIONS, so the console's POST and the socket's
host.command run them alike. Imported once, from DebatesConfig.ready.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from debates import live
from debates.host_actions import HOST_ACTIONS, EventScopedForm, HostAction
from debates.live import protocol
from debates.services import clock, reveal
from debates.services.notify import notify
from events.models import Event
from events.services import overlay_key_rotate

CLOCK_ADD_INVALID = _("Add between −10 and +10 minutes at once.")


class StageForm(EventScopedForm):
    """No input: the action works on the event's clock or final vote."""


class ClockAddForm(EventScopedForm):
    seconds = forms.IntegerField(
        min_value=-clock.ADD_MAX,
        max_value=clock.ADD_MAX,
        error_messages=dict.fromkeys(
            ["required", "invalid", "min_value", "max_value"], CLOCK_ADD_INVALID
        ),
    )


def overlay_rotate(event: Event) -> Event:
    """A new streaming overlay link (events.services.overlay_key_rotate: the old one stops
    opening); every console shows the link, so the hosts' sockets are told to re-read it."""
    event = overlay_key_rotate(event=event)
    notify(live.hosts_group(event.pk), protocol.overlay_changed())
    return event


STAGE_ACTIONS = {
    "clock.start": HostAction(StageForm, lambda e, d: clock.clock_start(event=e), "clock"),
    "clock.pause": HostAction(StageForm, lambda e, d: clock.clock_pause(event=e), "clock"),
    "clock.next": HostAction(StageForm, lambda e, d: clock.clock_next(event=e), "clock"),
    "clock.add": HostAction(
        ClockAddForm, lambda e, d: clock.clock_add(event=e, seconds=d["seconds"]), "clock"
    ),
    "reveal.show": HostAction(StageForm, lambda e, d: reveal.reveal_show(event=e), "reveal"),
    "reveal.hide": HostAction(StageForm, lambda e, d: reveal.reveal_hide(event=e), "reveal"),
    # The streaming overlay's link (issue 17): a new one, and the old one stops opening.
    "overlay.rotate": HostAction(StageForm, lambda e, d: overlay_rotate(e), "overlay"),
}


def register() -> None:
    HOST_ACTIONS.update(STAGE_ACTIONS)
