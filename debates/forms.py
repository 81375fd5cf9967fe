from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from debates.models import PollKind, ResultsVisibility
from events import admission
from events.models import Admission, Phase
from events.services import DISPLAY_NAME_MAX_LENGTH

JOIN_CODE_UNKNOWN = _("No event has that code. Check the code on the screen and try again.")
JOIN_EVENT_OVER = _("That debate is over: nobody can join or vote any more.")
JOIN_CODE_NOT_THE_SCREENS = _(
    "That is the event's own code, not the one on the screen. Type the code the screen in the "
    "room shows now (it changes every minute), or scan its QR code."
)


class DisplayNameForm(forms.Form):
    display_name = forms.CharField(
        label=_("Your name (optional)"),
        max_length=DISPLAY_NAME_MAX_LENGTH,
        required=False,
        help_text=_("Shown to your breakout room. Leave it blank to stay anonymous."),
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
    )


class JoinForm(DisplayNameForm):
    code = forms.CharField(
        label=_("Event code"),
        max_length=20,
        help_text=_("Six letters and digits, as shown on the screen."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "inputmode": "text",
                "autofocus": True,
            }
        ),
    )
    field_order = ["code", "display_name"]

    def clean_code(self) -> str:
        raw = self.cleaned_data["code"]
        self.event = admission.event_for_code(raw)
        if self.event is None:
            # The printed code of an event that admits by the screen: public, so no guess.
            standing = admission.event_for_standing_code(raw)
            if standing is not None and standing.phase == Phase.ENDED:
                raise forms.ValidationError(JOIN_EVENT_OVER, code="ended")
            if standing is not None and standing.admission == Admission.SCREEN:
                raise forms.ValidationError(JOIN_CODE_NOT_THE_SCREENS, code="standing")
            raise forms.ValidationError(JOIN_CODE_UNKNOWN, code="unknown")
        return self.event.join_code


class PollOpenForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            (PollKind.PRE_VOTE, PollKind.PRE_VOTE.label),
            (PollKind.FINAL_VOTE, PollKind.FINAL_VOTE.label),
        ]
    )
    results_visibility = forms.ChoiceField(
        label=_("Attendees see results"),
        choices=ResultsVisibility.choices,
        initial=ResultsVisibility.LIVE,
    )
