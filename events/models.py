"""Events: what is scheduled, who speaks, and who came.

The live debate (polls, votes, rooms, points, takeaways) lives in the debates app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Join codes avoid letters that read like digits (I, L, O, U): see events.services.
JOIN_CODE_LENGTH = 6


class Phase(models.TextChoices):
    LOBBY = "lobby", _("Lobby")
    OPENING = "opening", _("Opening statements")
    PRE_VOTE = "pre_vote", _("Pre-vote")
    BREAKOUTS = "breakouts", _("Breakouts")
    PLENARY = "plenary", _("Plenary")
    FINAL_VOTE = "final_vote", _("Final vote")
    TAKEAWAYS = "takeaways", _("Takeaways")
    ENDED = "ended", _("Ended")


class Side(models.TextChoices):
    FOR = "for", _("For")
    AGAINST = "against", _("Against")
    UNDECIDED = "undecided", _("Undecided")


class EventFormat(models.TextChoices):
    VENUE = "venue", _("In a venue")
    ONLINE = "online", _("Online")
    HYBRID = "hybrid", _("In a venue and online")


class Admission(models.TextChoices):
    """How people get in (SECURITY.md, "One person, one vote")."""

    # A code and QR token that rotate on the screen in the room (debates.admission): joining
    # needs what only the room can see.
    SCREEN = "screen", _("Code on the screen: only people who can see it join")
    # The event's standing code and link admit anyone who has them; the console warns.
    OPEN = "open", _("Open link: anyone with the link joins")


class Event(models.Model):
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    join_code = models.CharField(_("join code"), max_length=JOIN_CODE_LENGTH, unique=True)
    motion = models.CharField(
        _("motion"), max_length=300, help_text=_("The statement the audience votes on.")
    )
    intro = models.TextField(_("intro"), blank=True, max_length=5000)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    phase = models.CharField(_("phase"), max_length=20, choices=Phase, default=Phase.LOBBY)
    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="organised_events",
        verbose_name=_("organiser"),
    )
    format = models.CharField(
        _("format"), max_length=10, choices=EventFormat, default=EventFormat.VENUE
    )
    admission = models.CharField(
        _("who can join"), max_length=10, choices=Admission, default=Admission.SCREEN
    )
    venue = models.CharField(_("venue"), max_length=200, blank=True)
    video_url = models.URLField(_("main video-call link"), blank=True)
    room_video_pattern = models.CharField(
        _("breakout video link pattern"),
        max_length=300,
        blank=True,
        help_text=_("For example https://meet.jit.si/productbreaks-{event}-{room}"),
    )
    # A secret link that lets a host run the console without an account.
    host_key = models.CharField(_("host link key"), max_length=64, unique=True)
    # The streaming overlay's link is an HMAC of the event and this number (events/overlay.py):
    # rotating the link adds one, and the old link stops opening. Nothing secret is stored.
    overlay_generation = models.PositiveIntegerField(default=0, editable=False)
    recap_published = models.BooleanField(_("recap published"), default=False)
    recap_published_at = models.DateTimeField(_("recap published at"), null=True, blank=True)
    # Never cleared, even when the recap is taken down: once figures went public, nothing that
    # moves them (setting votes aside, undoing it) may happen, or two publications would differ
    # by how one small group voted (debates.set_aside).
    recap_first_published_at = models.DateTimeField(
        _("recap first published at"), null=True, blank=True
    )
    # From the start of a host's rehearsal (debates.services.rehearsal) until its reset: everyone
    # who joins meanwhile is simulated, and nothing may be published.
    rehearsing = models.BooleanField(_("in rehearsal"), default=False)
    # Off the organiser's working list (events.lifecycle.event_archive); public pages unchanged.
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True, editable=False)
    # Events run under one name (a season): the series page compares a motion across them.
    series = models.ForeignKey(
        "events.Series",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("series"),
    )
    # The language the event is run in: its recap and its emails are written in it, whatever
    # language the reader's interface is in.
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(phase__in=Phase.values), name="events_event_phase_valid"
            ),
            models.CheckConstraint(
                condition=Q(format__in=EventFormat.values), name="events_event_format_valid"
            ),
            models.CheckConstraint(
                condition=Q(admission__in=Admission.values), name="events_event_admission_valid"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gte=models.F("starts_at")),
                name="events_event_ends_after_start",
            ),
            # A rehearsal runs only on an event that never went public: its simulated figures
            # must never have been, nor become, a published recap.
            models.CheckConstraint(
                condition=Q(rehearsing=False) | Q(recap_first_published_at__isnull=True),
                name="events_event_rehearsal_never_published",
            ),
        ]
        indexes = [
            # The public index: upcoming events and published recaps, by date.
            models.Index(fields=["recap_published", "-starts_at"], name="events_event_index_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("debates:event", kwargs={"slug": self.slug})

    @property
    def is_online(self) -> bool:
        return self.format in {EventFormat.ONLINE, EventFormat.HYBRID}

    @property
    def is_in_venue(self) -> bool:
        return self.format in {EventFormat.VENUE, EventFormat.HYBRID}


class Series(models.Model):
    """Events run under one name, a season or a club's evenings (issue 17). The same motion
    debated at several of them has its history on the series page (recaps.series)."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="series",
        verbose_name=_("organiser"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("series")
        verbose_name_plural = _("series")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organiser", "name"], name="events_series_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("recaps:series", kwargs={"slug": self.slug})


class Resource(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="resources")
    title = models.CharField(_("title"), max_length=200)
    url = models.URLField(_("link"), max_length=500)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


class SpeakerRole(models.TextChoices):
    HOST = "host", _("Host")
    MODERATOR = "moderator", _("Moderator")
    PANELIST = "panelist", _("Panelist")


class Speaker(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="speakers")
    name = models.CharField(_("name"), max_length=120)
    role = models.CharField(_("role"), max_length=12, choices=SpeakerRole)
    affiliation = models.CharField(_("affiliation"), max_length=200, blank=True)
    # Blank: the speaker argues neither side.
    side = models.CharField(
        _("side argued"),
        max_length=10,
        blank=True,
        choices=[(Side.FOR, Side.FOR.label), (Side.AGAINST, Side.AGAINST.label)],
    )
    statement = models.TextField(_("opening statement"), blank=True, max_length=5000)
    # The account that lets a host or moderator reach the console.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="speaking_roles",
        verbose_name=_("account"),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("speaker")
        verbose_name_plural = _("speakers")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=SpeakerRole.values), name="events_speaker_role_valid"
            ),
            models.CheckConstraint(
                condition=Q(side__in=["", Side.FOR, Side.AGAINST]),
                name="events_speaker_side_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"


# A turn lasts at least this long and at most this long (seconds): the speakers' clock.
TURN_MIN_SECONDS = 5
TURN_MAX_SECONDS = 3600


class Turn(models.Model):
    """One timed turn of the running order (opening FOR, opening AGAINST, a rebuttal, a closing).

    What is planned: its speaker, side and length. When it actually ran is the debate's
    (debates.models.TurnRun, read through debates.stage.turns_of).
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="turns")
    label = models.CharField(_("turn"), max_length=120)
    # SET_NULL: a speaker taken off the event leaves the turn (and its history) in place.
    speaker = models.ForeignKey(
        Speaker,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="turns",
        verbose_name=_("speaker"),
    )
    side = models.CharField(
        _("side"),
        max_length=10,
        blank=True,
        choices=[(Side.FOR, Side.FOR.label), (Side.AGAINST, Side.AGAINST.label)],
    )
    seconds = models.PositiveIntegerField(_("length in seconds"), default=300)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("turn")
        verbose_name_plural = _("turns")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(side__in=["", Side.FOR, Side.AGAINST]), name="events_turn_side_valid"
            ),
            models.CheckConstraint(
                condition=Q(seconds__gte=TURN_MIN_SECONDS) & Q(seconds__lte=TURN_MAX_SECONDS),
                name="events_turn_length_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.label


class Theme(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="themes")
    name = models.CharField(_("name"), max_length=100)
    prompt = models.CharField(_("prompt for the rooms"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("theme")
        verbose_name_plural = _("themes")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "name"], name="events_theme_one_name_per_event"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Attendee(models.Model):
    """Someone in the audience: no account, known by a secret kept in their session."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="attendees")
    token = models.CharField(max_length=64, unique=True)
    display_name = models.CharField(_("display name"), max_length=40, blank=True)
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen at"), null=True, blank=True)
    # A keyed hash of the address they joined from (never the address itself), so the host's
    # door panel can tell many joins from one network apart; blanked by anonymise_attendees.
    network = models.CharField(max_length=16, blank=True)
    # Set aside by a host (debates.set_aside): their votes count in no tally.
    # Denormalised from the debate's set-aside log so the vote writer reads it with the event.
    set_aside = models.BooleanField(default=False)
    # Made by a host's rehearsal, or joined while one ran: removed when it is reset, and never
    # counted in a real event (debates.services.voting refuses their votes outside a rehearsal).
    simulated = models.BooleanField(_("simulated"), default=False)

    class Meta:
        verbose_name = _("attendee")
        verbose_name_plural = _("attendees")
        ordering = ["joined_at", "id"]
        indexes = [
            # Attendance over time for the summary's chart.
            models.Index(fields=["event", "joined_at"], name="events_attendee_joined_idx"),
            # The door panel: joins per network per minute.
            models.Index(
                fields=["event", "network", "joined_at"], name="events_attendee_network_idx"
            ),
            # Turnout leaves set-aside attendees out: the live snapshot subtracts this count
            # (an index holding only the set-aside, so it costs nothing until a host uses it).
            models.Index(
                fields=["event"], condition=Q(set_aside=True), name="events_attendee_aside_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or _("Attendee #%(id)s") % {"id": self.pk}

    @property
    def public_name(self) -> str:
        return self.display_name or str(_("Anonymous"))


class Subscriber(models.Model):
    email = models.EmailField(_("email"), max_length=254, unique=True)
    consented_at = models.DateTimeField(_("consent given at"))
    # Double opt-in: set when the person follows the signed link of the one email an
    # unconfirmed address gets (events.services.subscriber_confirm). Until then, nothing else
    # is sent to it. Subscribers from before double opt-in start unconfirmed.
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    wants_announcements = models.BooleanField(_("wants announcements"), default=True)
    wants_recaps = models.BooleanField(_("wants recaps"), default=True)
    source_event = models.ForeignKey(
        Event,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subscribers",
        verbose_name=_("signed up at"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")
        ordering = ["-created_at"]
        constraints = [
            # Emails are stored lower-cased so one person is one row.
            models.CheckConstraint(
                condition=Q(email=models.functions.Lower("email")),
                name="events_subscriber_email_lowercase",
            ),
        ]

    def __str__(self) -> str:
        return self.email


from events.models_mail import EmailStatus, Mailing, MailingKind, OutboundEmail  # noqa: E402, F401
from events.models_team import Invitation, Membership, TeamRole  # noqa: E402, F401
