"""Host actions: every console action, by name, with the form that validates its input.

Both transports go through here, so a host action means the same thing whoever sends it:
the console's POSTs (debates.views.console: console_command, and the poll open, close and
visibility pages, which keep their own URLs) and a `host.command` socket frame
(debates.consumers). Each action validates its fields with a form scoped to the event (an id
from another event is "not found", never acted on) and calls one function in
debates.services, which decides. A refusal carries a code (Refusal) each transport maps to its
own answer. Who may act at all is decided before this, by debates.selectors.can_host.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from debates.forms import PollOpenForm
from debates.models import (
    AssignmentMode,
    BreakoutRoom,
    BreakoutRound,
    Point,
    Poll,
    ResultsVisibility,
    SetAside,
    Takeaway,
)
from debates.services import phases, points, rounds, set_aside, takeaways, voting
from events.models import Attendee, Event, Phase

NOT_IN_EVENT = _("That is no longer part of this event. Reload the console.")
ACTION_UNKNOWN = _("The console does not know that action.")
POLL_VISIBILITY_UNKNOWN = _("Choose live or after the close.")


class Refusal(StrEnum):
    """Why a host action was turned down. Each transport answers by the code (the views with
    an HTTP status, the consumer with command.refused or a close code); `reason` is the text."""

    UNKNOWN = "unknown"  # no action has that name
    NOT_IN_EVENT = "not_in_event"  # an id names nothing of this event
    INVALID = "invalid"  # the input does not fit the action's form
    RULE = "rule"  # the service turned it down (its ValidationError's message)


class HostActionRefused(Exception):
    """A host action the input or the rules turn down; `reason` is shown to the host."""

    def __init__(self, code: Refusal, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _scoped(event: Event) -> dict[type, QuerySet]:
    """What each id field may name: only this event's objects."""
    return {
        BreakoutRound: BreakoutRound.objects.filter(event=event),
        BreakoutRoom: BreakoutRoom.objects.filter(round__event=event).select_related("round"),
        Point: Point.objects.filter(event=event),
        Takeaway: Takeaway.objects.filter(event=event),
        Attendee: Attendee.objects.filter(event=event),
        Poll: Poll.objects.filter(event=event),
        SetAside: SetAside.objects.filter(event=event),
    }


def _id_field(model: type) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=model.objects.none(), error_messages={"invalid_choice": NOT_IN_EVENT}
    )


class EventScopedForm(forms.Form):
    def __init__(self, data: Mapping[str, Any], *, event: Event) -> None:
        super().__init__(data)
        self.event = event
        scopes = _scoped(event)
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField):
                field.queryset = scopes[field.queryset.model]


class PhaseForm(EventScopedForm):
    phase = forms.ChoiceField(choices=Phase.choices)


class PollForm(EventScopedForm):
    poll = _id_field(Poll)


class PollVisibilityForm(PollForm):
    results_visibility = forms.ChoiceField(
        choices=ResultsVisibility.choices,
        error_messages={
            "required": POLL_VISIBILITY_UNKNOWN,
            "invalid_choice": POLL_VISIBILITY_UNKNOWN,
        },
    )


class PollOpenScopedForm(PollOpenForm):
    def __init__(self, data: Mapping[str, Any], *, event: Event) -> None:
        super().__init__(data)


class RoundStartForm(EventScopedForm):
    split = forms.ChoiceField(
        label=_("Make"),
        choices=[("rooms", _("this many rooms")), ("size", _("rooms of this size"))],
        initial="rooms",
    )
    count = forms.IntegerField(label=_("Number"), min_value=1, max_value=rounds.MAX_ROOMS)
    mode = forms.ChoiceField(
        label=_("Fill them"), choices=AssignmentMode.choices, initial=AssignmentMode.BALANCED
    )
    minutes = forms.IntegerField(
        label=_("Minutes"), min_value=1, max_value=rounds.MAX_ROUND_MINUTES, initial=15
    )
    names = forms.CharField(
        label=_("Room names (optional, one per line)"),
        required=False,
        max_length=rounds.MAX_ROOMS * (rounds.ROOM_NAME_MAX_LENGTH + 1),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_names(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["names"].splitlines() if line.strip()]


class RoundForm(EventScopedForm):
    round = _id_field(BreakoutRound)


class RoundMessageForm(RoundForm):
    text = forms.CharField(
        label=_("Message to every room"),
        max_length=rounds.ROUND_MESSAGE_MAX_LENGTH * 2,
        error_messages={"required": rounds.ROUND_MESSAGE_EMPTY},
    )


class RoundMinutesForm(RoundForm):
    minutes = forms.IntegerField(
        min_value=-rounds.MAX_EXTEND_MINUTES, max_value=rounds.MAX_ROUND_MINUTES
    )


class RoomUpdateForm(EventScopedForm):
    room = _id_field(BreakoutRoom)
    name = forms.CharField(max_length=rounds.ROOM_NAME_MAX_LENGTH)
    video_url = forms.CharField(required=False, max_length=200)
    location = forms.CharField(required=False, max_length=rounds.ROOM_LOCATION_MAX_LENGTH)


class AttendeeMoveForm(EventScopedForm):
    attendee = _id_field(Attendee)
    room = _id_field(BreakoutRoom)


class PointForm(EventScopedForm):
    point = _id_field(Point)


class PointMergeForm(PointForm):
    into = _id_field(Point)


class PointEditForm(PointForm):
    text = forms.CharField(
        max_length=points.POINT_MAX_LENGTH * 2,
        error_messages={"required": points.POINT_EMPTY},
    )


class TakeawayAddForm(EventScopedForm):
    title = forms.CharField(
        label=_("Headline"),
        max_length=takeaways.TAKEAWAY_TITLE_MAX_LENGTH * 2,
        error_messages={"required": takeaways.TAKEAWAY_TITLE_EMPTY},
    )
    text = forms.CharField(
        label=_("Detail (optional)"),
        required=False,
        max_length=takeaways.TAKEAWAY_TEXT_MAX_LENGTH * 2,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class TakeawayForm(EventScopedForm):
    takeaway = _id_field(Takeaway)


class TakeawayEditForm(TakeawayForm, TakeawayAddForm):
    pass


class TakeawayMoveForm(TakeawayForm):
    offset = forms.IntegerField(min_value=-1, max_value=1)


class TakeawayReorderForm(EventScopedForm):
    order = forms.TypedMultipleChoiceField(coerce=int, choices=[])

    def __init__(self, data: Mapping[str, Any], *, event: Event) -> None:
        super().__init__(data, event=event)
        ids = Takeaway.objects.filter(event=event).values_list("pk", flat=True)
        self.fields["order"].choices = [(str(pk), str(pk)) for pk in ids]
        self.fields["order"].error_messages["invalid_choice"] = NOT_IN_EVENT


class SetAsideForm(EventScopedForm):
    # A door-panel key (debates.door); the server finds the group from it.
    group = forms.CharField(max_length=64)


class SetAsideUndoForm(EventScopedForm):
    set_aside = _id_field(SetAside)


def _round_start(event: Event, data: dict) -> object:
    size_or_rooms = {"rooms" if data["split"] == "rooms" else "size": data["count"]}
    return rounds.round_start(
        event=event,
        minutes=data["minutes"],
        mode=data["mode"],
        names=data["names"],
        **size_or_rooms,
    )


@dataclass(frozen=True)
class HostAction:
    form: type[forms.Form]
    # Called with the event and the form's cleaned data, plus "actor" (set_aside.Actor): who
    # runs it, for the commands that keep a log.
    run: Callable[[Event, dict], object]
    # The console panel that shows the result (re-rendered for an htmx POST).
    panel: str


HOST_ACTIONS: dict[str, HostAction] = {
    "phase.set": HostAction(
        PhaseForm, lambda e, d: phases.phase_set(event=e, phase=d["phase"]), "phase"
    ),
    "poll.open": HostAction(
        PollOpenScopedForm,
        lambda e, d: voting.poll_open(
            event=e, kind=d["kind"], results_visibility=d["results_visibility"]
        ),
        "polls",
    ),
    "poll.close": HostAction(PollForm, lambda e, d: voting.poll_close(poll=d["poll"]), "polls"),
    "poll.visibility": HostAction(
        PollVisibilityForm,
        lambda e, d: voting.poll_results_visibility_set(
            poll=d["poll"], results_visibility=d["results_visibility"]
        ),
        "polls",
    ),
    "round.start": HostAction(RoundStartForm, _round_start, "round"),
    "round.message": HostAction(
        RoundMessageForm,
        lambda e, d: rounds.round_message(round_=d["round"], text=d["text"]),
        "round",
    ),
    "round.extend": HostAction(
        RoundMinutesForm,
        lambda e, d: rounds.round_extend(round_=d["round"], minutes=d["minutes"]),
        "round",
    ),
    "round.timer": HostAction(
        RoundMinutesForm,
        lambda e, d: rounds.round_timer_set(round_=d["round"], minutes=d["minutes"]),
        "round",
    ),
    "round.end": HostAction(RoundForm, lambda e, d: rounds.round_end(round_=d["round"]), "round"),
    "room.update": HostAction(
        RoomUpdateForm,
        lambda e, d: rounds.room_update(
            room=d["room"], name=d["name"], video_url=d["video_url"], location=d["location"]
        ),
        "rooms",
    ),
    "attendee.move": HostAction(
        AttendeeMoveForm,
        lambda e, d: rounds.attendee_move(attendee=d["attendee"], room=d["room"]),
        "rooms",
    ),
    "point.hide": HostAction(
        PointForm, lambda e, d: points.point_hide(point=d["point"]), "plenary"
    ),
    "point.unhide": HostAction(
        PointForm, lambda e, d: points.point_unhide(point=d["point"]), "plenary"
    ),
    "point.highlight": HostAction(
        PointForm, lambda e, d: points.point_highlight(point=d["point"]), "plenary"
    ),
    "point.unhighlight": HostAction(
        PointForm,
        lambda e, d: points.point_highlight(point=d["point"], highlighted=False),
        "plenary",
    ),
    "point.merge": HostAction(
        PointMergeForm,
        lambda e, d: points.point_merge(point=d["point"], into=d["into"]),
        "plenary",
    ),
    "point.unmerge": HostAction(
        PointForm, lambda e, d: points.point_unmerge(point=d["point"]), "plenary"
    ),
    "point.edit": HostAction(
        PointEditForm, lambda e, d: points.point_edit(point=d["point"], text=d["text"]), "plenary"
    ),
    "takeaway.add": HostAction(
        TakeawayAddForm,
        lambda e, d: takeaways.takeaway_add(event=e, title=d["title"], text=d["text"]),
        "takeaways",
    ),
    "takeaway.edit": HostAction(
        TakeawayEditForm,
        lambda e, d: takeaways.takeaway_edit(
            takeaway=d["takeaway"], title=d["title"], text=d["text"]
        ),
        "takeaways",
    ),
    "takeaway.delete": HostAction(
        TakeawayForm, lambda e, d: takeaways.takeaway_delete(takeaway=d["takeaway"]), "takeaways"
    ),
    "takeaway.move": HostAction(
        TakeawayMoveForm,
        lambda e, d: takeaways.takeaway_move(takeaway=d["takeaway"], offset=d["offset"]),
        "takeaways",
    ),
    "takeaway.reorder": HostAction(
        TakeawayReorderForm,
        lambda e, d: takeaways.takeaway_reorder(event=e, order=d["order"]),
        "takeaways",
    ),
    "votes.set_aside": HostAction(
        SetAsideForm,
        lambda e, d: set_aside.set_aside(event=e, key=d["group"], actor=d["actor"]),
        "door",
    ),
    "votes.set_aside_undo": HostAction(
        SetAsideUndoForm,
        lambda e, d: set_aside.set_aside_undo(set_aside=d["set_aside"], actor=d["actor"]),
        "door",
    ),
}


def _form_refusal(form: forms.Form) -> HostActionRefused:
    reason = " ".join(str(message) for errors in form.errors.values() for message in errors)
    # An id field's "invalid_choice" is an id that names nothing of this event.
    codes = {error.code for errors in form.errors.as_data().values() for error in errors}
    id_fields = {
        name for name, field in form.fields.items() if isinstance(field, forms.ModelChoiceField)
    }
    if "invalid_choice" in codes and id_fields & set(form.errors):
        return HostActionRefused(Refusal.NOT_IN_EVENT, reason)
    return HostActionRefused(Refusal.INVALID, reason)


def host_action_run(
    *, event: Event, name: str, data: Mapping[str, Any], actor: set_aside.Actor
) -> HostAction:
    """Validates and runs one host action for `actor` (set_aside.actor_for: who is acting,
    after can_host let them in). Sync (ORM); call it through database_sync_to_async from the
    consumer. Raises HostActionRefused with a code and the reason."""
    action = HOST_ACTIONS.get(name)
    if action is None:
        raise HostActionRefused(Refusal.UNKNOWN, str(ACTION_UNKNOWN))
    form = action.form(data, event=event)
    if not form.is_valid():
        raise _form_refusal(form)
    try:
        action.run(event, {**form.cleaned_data, "actor": actor})
    except ValidationError as error:
        raise HostActionRefused(Refusal.RULE, " ".join(error.messages)) from None
    return action
