from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import URLValidator
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from events.models import (
    TURN_MAX_SECONDS,
    TURN_MIN_SECONDS,
    Event,
    EventFormat,
    Resource,
    Speaker,
    Theme,
    Turn,
)
from events.services import (
    EVENT_EDITABLE_FIELDS,
    OPENING_SECONDS,
    SUBSCRIBE_CONSENT_MISSING,
    SUBSCRIBE_EMAIL_INVALID,
)

BOTH, ANNOUNCEMENTS, RECAPS = "both", "announcements", "recaps"


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
    # What they want to hear about; a form posted without it (an older page) means both.
    lists = forms.ChoiceField(
        label=_("Send me"),
        required=False,
        choices=[
            (BOTH, _("The next debates and their recaps")),
            (ANNOUNCEMENTS, _("Only the next debates")),
            (RECAPS, _("Only the recaps")),
        ],
        initial=BOTH,
        widget=forms.RadioSelect,
    )
    # Where the person signed up, and where to send them back; both optional.
    event = forms.SlugField(required=False, widget=forms.HiddenInput)

    def chosen_lists(self) -> dict[str, bool]:
        """subscriber_add's `announcements` and `recaps` for the choice made."""
        choice = self.cleaned_data.get("lists") or BOTH
        return {"announcements": choice != RECAPS, "recaps": choice != ANNOUNCEMENTS}

    next = forms.CharField(required=False, max_length=300, widget=forms.HiddenInput)


def subscribe_form_for(request: HttpRequest, event: Event | None = None) -> SubscribeForm:
    """The subscribe form for a page, sending the reader back to it (and naming its event)."""
    return SubscribeForm(initial={"event": event.slug if event else "", "next": request.path})


# ---------------------------------------------------------------- organising (host console)

EVENT_ENDS_BEFORE_START = _("The event cannot end before it starts.")
EVENT_VENUE_MISSING = _("An event in a venue needs the venue's name.")
EVENT_VIDEO_MISSING = _("An online event needs the main video-call link.")
ROOM_PATTERN_NEEDS_ROOM = _("Put {room} in the pattern, so that each room gets its own call.")
ROOM_PATTERN_INVALID = _(
    "The pattern must make a full https:// link, like https://meet.jit.si/{event}-{room}."
)
SPEAKER_ACCOUNT_UNKNOWN = _("No account has that username or email.")
THEME_HAS_POINTS = _("Points were made under this theme: rename it rather than delete it.")
THEME_NAME_TWICE = _("Each theme needs a different name.")
TURN_LENGTH_INVALID = _(
    "Give the length as minutes, or minutes:seconds (7 or 2:30), from 0:05 to 60:00."
)

_DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class EventForm(forms.ModelForm):
    # A name, not a list of series: typing a new one starts it (events.lifecycle.series_for).
    series_name = forms.CharField(
        label=_("Series (optional)"),
        required=False,
        max_length=120,
        help_text=_("Events of one series share a page that compares the same motion across them."),
    )

    class Meta:
        model = Event
        fields = list(EVENT_EDITABLE_FIELDS)
        widgets = {
            "motion": forms.Textarea(attrs={"rows": 2}),
            "intro": forms.Textarea(attrs={"rows": 4}),
            "starts_at": _DATETIME_INPUT,
            "ends_at": _DATETIME_INPUT,
            "format": forms.RadioSelect,
            "admission": forms.RadioSelect,
        }
        help_texts = {
            "admission": _(
                "With the code on the screen, only people who can see the projector (or your "
                "shared screen) can join, and a script cannot stuff the vote. An open link "
                "lets anyone with it join: use it only when you cannot show a screen."
            ),
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.series_id and not self.is_bound:
            self.initial["series_name"] = self.instance.series.name
        # A form (or a script) that leaves the language out keeps the event's: it is not a
        # question every organiser must answer.
        self.fields["language"].required = False
        self.fields["language"].help_text = _(
            "The recap and the emails about this event are written in it."
        )

    def clean_language(self) -> str:
        return self.cleaned_data["language"] or self.instance.language

    def clean_title(self) -> str:
        # One line, whatever is posted: the title heads pages and is the emails' subject.
        return " ".join(self.cleaned_data["title"].split())

    def clean_room_video_pattern(self) -> str:
        pattern = self.cleaned_data["room_video_pattern"].strip()
        if not pattern:
            return ""
        if "{room}" not in pattern:
            raise forms.ValidationError(ROOM_PATTERN_NEEDS_ROOM, code="pattern_needs_room")
        example = pattern.replace("{event}", "event").replace("{room}", "room-1")
        try:
            URLValidator(schemes=["https", "http"])(example)
        except forms.ValidationError:
            raise forms.ValidationError(ROOM_PATTERN_INVALID, code="pattern_invalid") from None
        return pattern

    def clean(self) -> dict:
        data = super().clean()
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends < starts:
            self.add_error("ends_at", forms.ValidationError(EVENT_ENDS_BEFORE_START))
        event_format = data.get("format")
        if event_format in {EventFormat.VENUE, EventFormat.HYBRID} and not data.get("venue"):
            self.add_error("venue", forms.ValidationError(EVENT_VENUE_MISSING))
        if (
            event_format in {EventFormat.ONLINE, EventFormat.HYBRID}
            and not data.get("video_url")
            and "video_url" not in self.errors
        ):
            self.add_error("video_url", forms.ValidationError(EVENT_VIDEO_MISSING))
        return data


class SpeakerForm(forms.ModelForm):
    # A username or email rather than a list of every account: organisers need not see them all.
    account = forms.CharField(
        label=_("Account (username or email)"),
        required=False,
        max_length=254,
        help_text=_("A host or moderator with an account reaches the console from their events."),
    )

    class Meta:
        model = Speaker
        fields = ["name", "role", "side", "affiliation", "statement"]
        widgets = {"statement": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.user_id and not self.is_bound:
            self.initial["account"] = self.instance.user.get_username()

    def clean_account(self) -> str:
        account = self.cleaned_data["account"].strip()
        self.account_user = None
        if account:
            users = get_user_model().objects.filter(is_active=True)
            self.account_user = (
                users.filter(username__iexact=account).first()
                or users.filter(email__iexact=account).first()
            )
            if self.account_user is None:
                raise forms.ValidationError(SPEAKER_ACCOUNT_UNKNOWN, code="account_unknown")
        return account

    def has_changed(self) -> bool:
        """A new row with nothing typed in it is an empty row, whatever role and side it was
        offered with (a new event's form offers a FOR and an AGAINST speaker)."""
        if self.instance.pk is None and self.empty_permitted:
            typed = ("name", "affiliation", "statement", "account")
            return any(str(self[name].value() or "").strip() for name in typed)
        return super().has_changed()

    def save(self, commit: bool = True) -> Speaker:
        self.instance.user = self.account_user
        return super().save(commit=commit)


class ThemeForm(forms.ModelForm):
    class Meta:
        model = Theme
        fields = ["name", "prompt"]


class ResourceForm(forms.ModelForm):
    class Meta:
        model = Resource
        fields = ["title", "url"]


class TurnLengthField(forms.CharField):
    """A turn's length as people say it, "7" or "2:30", stored in seconds."""

    def prepare_value(self, value: object) -> object:
        if isinstance(value, int):
            return f"{value // 60}:{value % 60:02d}"
        return value

    def to_python(self, value: object) -> int | None:
        text = str(super().to_python(value)).strip()
        if not text:
            return None
        minutes, _colon, seconds = text.partition(":")
        try:
            total = int(minutes) * 60 + (int(seconds) if seconds else 0)
        except ValueError:
            raise forms.ValidationError(TURN_LENGTH_INVALID, code="turn_length") from None
        if not (seconds == "" or 0 <= int(seconds) < 60) or not (
            TURN_MIN_SECONDS <= total <= TURN_MAX_SECONDS
        ):
            raise forms.ValidationError(TURN_LENGTH_INVALID, code="turn_length")
        return total


class TurnForm(forms.ModelForm):
    seconds = TurnLengthField(
        label=_("Length (minutes or m:ss)"),
        initial=OPENING_SECONDS,
        widget=forms.TextInput(attrs={"maxlength": 6, "size": 6}),
    )

    class Meta:
        model = Turn
        fields = ["label", "speaker", "side", "seconds"]

    def __init__(self, *args: object, event_id: int | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Only this event's speakers (none yet on a new event: turns are built from them).
        self.fields["speaker"].queryset = (
            Speaker.objects.filter(event_id=event_id) if event_id else Speaker.objects.none()
        )

    def clean(self) -> dict:
        data = super().clean()
        speaker = data.get("speaker")
        if speaker is not None and not data.get("side"):
            data["side"] = speaker.side  # the speaker's side, unless the row says otherwise
            self.instance.side = speaker.side
        return data


class _PositionedFormSet(forms.BaseInlineFormSet):
    """Saves rows in the order they appear on the page, as their position."""

    def save(self, commit: bool = True) -> list:
        saved = super().save(commit=False)
        for obj in self.deleted_objects:
            obj.delete()
        kept = [
            form.instance
            for form in self.forms
            if not _marked_for_deletion(form) and (form.instance.pk or form.has_changed())
        ]
        for position, obj in enumerate(kept):
            obj.position = position
            obj.save()
        return saved


def _marked_for_deletion(form: forms.Form) -> bool:
    """The row's delete box is ticked (Django's public DELETION_FIELD_NAME, not the formset's
    private _should_delete_form)."""
    return bool(getattr(form, "cleaned_data", {}).get(DELETION_FIELD_NAME, False))


class _ThemeFormSet(_PositionedFormSet):
    def clean(self) -> None:
        super().clean()
        names: set[str] = set()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if _marked_for_deletion(form):
                # The database would refuse too (RESTRICT); this says why. A formset error,
                # because a row marked for deletion has its own errors ignored.
                if form.instance.pk and form.instance.points.exists():
                    raise forms.ValidationError(THEME_HAS_POINTS, code="theme_has_points")
                continue
            name = form.cleaned_data.get("name", "").casefold()
            if name in names:
                form.add_error("name", THEME_NAME_TWICE)
            names.add(name)


SpeakerFormSet = forms.inlineformset_factory(
    Event, Speaker, form=SpeakerForm, formset=_PositionedFormSet, extra=1, can_delete=True
)
ThemeFormSet = forms.inlineformset_factory(
    Event, Theme, form=ThemeForm, formset=_ThemeFormSet, extra=2, can_delete=True
)


class _TurnFormSet(_PositionedFormSet):
    def get_form_kwargs(self, index: int | None) -> dict:
        return {**super().get_form_kwargs(index), "event_id": self.instance.pk}


# Extra rows: none; "Add a turn" copies the empty row. Left empty, the turns are built from the
# speakers when the event is saved (events.services.turns_from_speakers).
TurnFormSet = forms.inlineformset_factory(
    Event, Turn, form=TurnForm, formset=_TurnFormSet, extra=0, can_delete=True
)
ResourceFormSet = forms.inlineformset_factory(
    Event, Resource, form=ResourceForm, formset=_PositionedFormSet, extra=1, can_delete=True
)
