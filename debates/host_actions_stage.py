"""The stage's host actions (the speakers' clock, the reveal), registered into the one
registry, debates.host_actions.HOST_ACTIONS, so the console's POST and the socket's
host.command run them alike. Imported once, from DebatesConfig.ready.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from debates.host_actions import HOST_ACTIONS, EventScopedForm, HostAction
from debates.services import clock, reveal

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


STAGE_ACTIONS = {
    "clock.start": HostAction(StageForm, lambda e, d: clock.clock_start(event=e), "clock"),
    "clock.pause": HostAction(StageForm, lambda e, d: clock.clock_pause(event=e), "clock"),
    "clock.next": HostAction(StageForm, lambda e, d: clock.clock_next(event=e), "clock"),
    "clock.add": HostAction(
        ClockAddForm, lambda e, d: clock.clock_add(event=e, seconds=d["seconds"]), "clock"
    ),
    "reveal.show": HostAction(StageForm, lambda e, d: reveal.reveal_show(event=e), "reveal"),
    "reveal.hide": HostAction(StageForm, lambda e, d: reveal.reveal_hide(event=e), "reveal"),
}


def register() -> None:
    HOST_ACTIONS.update(STAGE_ACTIONS)
