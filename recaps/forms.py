from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class PublishForm(forms.Form):
    publish = forms.TypedChoiceField(
        choices=[("1", _("Publish")), ("0", _("Unpublish"))],
        coerce=lambda value: value == "1",
    )
