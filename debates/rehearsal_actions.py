"""The rehearsal's host actions, registered into the one registry (debates.host_actions), so the
console's POST and the socket's host.command run them alike: start (and launch the simulated
crowd, debates.crowd), stop, reset. Imported once, from DebatesConfig.ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from django import forms
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from debates import crowd
from debates.host_actions import HOST_ACTIONS, EventScopedForm, HostAction
from debates.models import Rehearsal
from debates.services import rehearsal
from events.models import Event

PANEL = "rehearsal"
REHEARSAL_COMMANDS = frozenset({"rehearsal.start", "rehearsal.stop", "rehearsal.reset"})
# After these the whole console is read again (the reset changes every panel).
RELOAD_CONSOLE = frozenset({"rehearsal.reset"})


class RehearsalStartForm(EventScopedForm):
    people = forms.IntegerField(
        label=_("Simulated people"),
        min_value=1,
        max_value=rehearsal.MAX_PEOPLE,
        initial=30,
        error_messages={
            "min_value": rehearsal.REHEARSAL_PEOPLE_RANGE,
            "max_value": rehearsal.REHEARSAL_PEOPLE_RANGE,
        },
    )
    minutes = forms.IntegerField(
        label=_("Over (minutes)"),
        min_value=1,
        max_value=rehearsal.MAX_MINUTES,
        initial=15,
        help_text=_(
            "They arrive in the first half, then vote when you open a vote and add points in "
            "the rooms, until the time is up or you stop them."
        ),
        error_messages={
            "min_value": rehearsal.REHEARSAL_MINUTES_RANGE,
            "max_value": rehearsal.REHEARSAL_MINUTES_RANGE,
        },
    )

    def __init__(self, data: Mapping[str, Any] | None, *, event: Event) -> None:
        super().__init__(data, event=event)
        # The console also shows the round's form, whose minutes field is id_minutes.
        self.auto_id = "rehearsal-%s"


class RehearsalForm(EventScopedForm):
    """Stop and reset act on the event's current rehearsal: nothing to name."""


def _start(event: Event, data: dict) -> Rehearsal:
    started = rehearsal.rehearsal_start(event=event, people=data["people"], minutes=data["minutes"])
    # Committed already (the service is atomic) unless a caller holds a transaction: then the
    # crowd starts when it commits, and never for one rolled back.
    transaction.on_commit(partial(crowd.crowd_launch, started.pk))
    return started


HOST_ACTIONS.update(
    {
        "rehearsal.start": HostAction(RehearsalStartForm, _start, PANEL),
        "rehearsal.stop": HostAction(
            RehearsalForm, lambda e, d: rehearsal.rehearsal_stop(event=e), PANEL
        ),
        "rehearsal.reset": HostAction(
            RehearsalForm, lambda e, d: rehearsal.rehearsal_reset(event=e), PANEL
        ),
    }
)
