"""The team's form: inviting someone. (The new member's password is Django's SetPasswordForm.)"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from events.models import TeamRole
from events.team import INVITE_EMAIL_INVALID

ROLE_HELP = _(
    "Co-organisers edit the event and its team and run it; hosts and moderators run the "
    "console. Only you can delete the event."
)


class InviteForm(forms.Form):
    email = forms.EmailField(
        label=_("Their email"),
        max_length=254,
        error_messages=dict.fromkeys(["required", "invalid", "max_length"], INVITE_EMAIL_INVALID),
        widget=forms.EmailInput(attrs={"autocomplete": "off", "placeholder": "name@example.org"}),
    )
    role = forms.ChoiceField(
        label=_("Role"), choices=TeamRole.choices, initial=TeamRole.HOST, help_text=ROLE_HELP
    )
