from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from debates import selectors
from debates.models import PollKind, ResultsVisibility
from events.services import DISPLAY_NAME_MAX_LENGTH

JOIN_CODE_UNKNOWN = _("No event has that code. Check the code on the screen and try again.")


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
        self.event = selectors.event_for_join_code(raw)
        if self.event is None:
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
