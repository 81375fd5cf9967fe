from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from events.services import SUBSCRIBE_CONSENT_MISSING, SUBSCRIBE_EMAIL_INVALID


class SubscribeForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email"),
        max_length=254,
        # One clear message for every way an address can be wrong (empty, malformed, too long).
        error_messages=dict.fromkeys(
            ["required", "invalid", "max_length"], SUBSCRIBE_EMAIL_INVALID
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "name@example.org"}),
    )
    consent = forms.BooleanField(
        label=_("Email me about the next event. I can unsubscribe at any time."),
        error_messages={"required": SUBSCRIBE_CONSENT_MISSING},
    )
    # Where the person signed up, and where to send them back; both optional.
    event = forms.SlugField(required=False, widget=forms.HiddenInput)
    next = forms.CharField(required=False, max_length=300, widget=forms.HiddenInput)


class PublishForm(forms.Form):
    publish = forms.TypedChoiceField(
        choices=[("1", _("Publish")), ("0", _("Unpublish"))],
        coerce=lambda value: value == "1",
    )
