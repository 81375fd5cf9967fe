"""Seeds the demo: one finished event with its whole story, and one about to start.

Idempotent: running it again leaves one copy of everything (it rebuilds the demo events).
"""

from __future__ import annotations

import random
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from debates.models import (
    AssignmentMode,
    BreakoutRoom,
    BreakoutRound,
    Point,
    Poll,
    PollKind,
    PollState,
    RoomMember,
    Takeaway,
    Vote,
    VoteLog,
)
from events import team
from events.models import (
    Attendee,
    Event,
    EventFormat,
    Phase,
    Resource,
    Side,
    Speaker,
    SpeakerRole,
    TeamRole,
    Theme,
)
from events.services import event_create

DEMO_PASSWORD = "productbreaks-demo"  # noqa: S105 - printed for the demo on purpose
DEMO_USERS = {
    "organiser": {
        "first_name": "Olu",
        "last_name": "Mensah",
        "is_staff": True,
        "is_superuser": True,
    },
    "host": {"first_name": "Priya", "last_name": "Raman"},
    "moderator": {"first_name": "Tomasz", "last_name": "Wiśniewski"},
}
DEMO_SLUG = "roadmaps-on-trial"
LIVE_SLUG = "design-sprints-live"
DEMO_INVITEE = "new.moderator@example.org"
# Fixed codes so the printed instructions stay the same between runs.
DEMO_CODE = "RDMP42"
LIVE_CODE = "SPR1NT"

THEMES = {
    "Planning horizon": {
        Side.FOR: [
            ("A quarterly outcome list ages better than a twelve-month feature plan.", 9, True),
            ("Dates on a roadmap become promises that nobody remembers agreeing to.", 6, False),
        ],
        Side.AGAINST: [
            (
                "Hardware, legal and partner work needs lead time that only a roadmap shows.",
                8,
                True,
            ),
            ("Without a horizon, teams optimise for what is loud this week.", 4, False),
        ],
    },
    "Stakeholder trust": {
        Side.FOR: [
            (
                "Show progress with shipped outcomes and demos; that builds more trust than slides.",
                7,
                True,
            ),
        ],
        Side.AGAINST: [
            (
                "Sales and support need something to point customers at, or they invent it.",
                10,
                True,
            ),
            (
                "Executives fund direction, not a backlog; the roadmap is the funding story.",
                3,
                False,
            ),
        ],
    },
    "Team autonomy": {
        Side.FOR: [
            ("Teams who own a problem, not a feature list, find better solutions.", 11, True),
            ("A roadmap handed down turns engineers into ticket processors.", 5, False),
        ],
        Side.AGAINST: [
            (
                "Autonomy without a shared map produces five teams building five onboarding flows.",
                6,
                True,
            ),
        ],
    },
    "Customer outcomes": {
        Side.FOR: [
            (
                "Discovery keeps changing the answer; a fixed plan makes you ignore what you learn.",
                8,
                True,
            ),
        ],
        Side.AGAINST: [
            (
                "Customers plan their own work around your releases; surprise is a cost to them.",
                7,
                True,
            ),
            ("A roadmap can be written in problems and outcomes instead of features.", 9, False),
        ],
    },
}

TAKEAWAYS = [
    (
        "Write the roadmap in problems, not features",
        "Both sides agreed the harm comes from dated feature lists. A list of problems and the "
        "outcomes you expect keeps direction without pretending to know the answer.",
    ),
    (
        "Match the horizon to the cost of changing course",
        "Where work has long lead times (hardware, regulation, partners) a longer horizon pays "
        "for itself. Where a change costs a sprint, plan in weeks.",
    ),
    (
        "Trust is built by shipping, then by explaining",
        "Stakeholders asked for roadmaps when they had nothing else to go on. Regular demos and a "
        "short written update did more for trust than a Gantt chart.",
    ),
]

ATTENDEE_NAMES = [
    "Aisha",
    "Ben",
    "",
    "Chen",
    "Dara",
    "",
    "Elif",
    "Femi",
    "",
    "Greta",
    "Hugo",
    "",
    "Ines",
    "Jonah",
    "",
    "Kemi",
    "Lars",
    "",
    "Maya",
    "Nico",
    "",
    "Oren",
    "Pia",
    "",
    "Quinn",
    "Rafa",
    "",
    "Sana",
    "Theo",
    "",
    "Uma",
    "Vik",
    "",
    "Wren",
    "Yusuf",
    "",
]
# (pre-vote, final vote) per attendee, in the order above; None: did not vote in that poll.
# Everyone voted twice: with one or two people voting only once, the recap would rightly leave
# out its "who changed their mind" table (recaps/disclosure.py), the demo's best chart.
VOTES = (
    [(Side.FOR, Side.FOR)] * 11
    + [(Side.AGAINST, Side.AGAINST)] * 10
    + [(Side.FOR, Side.AGAINST)] * 2
    + [(Side.AGAINST, Side.FOR)] * 3
    + [(Side.UNDECIDED, Side.FOR)] * 2
    + [(Side.UNDECIDED, Side.AGAINST)] * 4
    + [(Side.UNDECIDED, Side.UNDECIDED)] * 1
    + [(Side.FOR, Side.FOR)] * 1
    + [(Side.UNDECIDED, Side.AGAINST)] * 1
    + [(Side.AGAINST, Side.AGAINST)] * 1
)


def _user(username: str, **fields: object):
    User = get_user_model()
    user, _created = User.objects.get_or_create(username=username, defaults=fields)
    user.set_password(DEMO_PASSWORD)
    for key, value in fields.items():
        setattr(user, key, value)
    user.save()
    return user


class Command(BaseCommand):
    help = "Seeds the demo events (idempotent)."

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        users = {name: _user(name, **fields) for name, fields in DEMO_USERS.items()}
        Event.objects.filter(slug__in=[DEMO_SLUG, LIVE_SLUG]).delete()
        Event.objects.filter(join_code__in=[DEMO_CODE, LIVE_CODE]).delete()
        finished = self._finished_event(users)
        live = self._live_event(users)
        self.stdout.write(
            self.style.SUCCESS(f"Seeded demo events: {finished.title!r} and {live.title!r}.")
        )

    def _speakers(self, event: Event, users: dict, for_text: str, against_text: str) -> None:
        Speaker.objects.create(
            event=event,
            name="Priya Raman",
            role=SpeakerRole.HOST,
            side=Side.FOR,
            affiliation="Head of Product, Lanternworks",
            statement=for_text,
            user=users["host"],
            position=0,
        )
        Speaker.objects.create(
            event=event,
            name="Tomasz Wiśniewski",
            role=SpeakerRole.MODERATOR,
            side=Side.AGAINST,
            affiliation="Principal PM, Northgate Freight",
            statement=against_text,
            user=users["moderator"],
            position=1,
        )

    def _finished_event(self, users: dict) -> Event:
        rng = random.Random(7)
        starts = (timezone.now() - timedelta(days=6)).replace(
            hour=18, minute=30, second=0, microsecond=0
        )
        event = event_create(
            organiser=users["organiser"],
            title="Roadmaps on trial",
            slug=DEMO_SLUG,
            motion="Product teams should throw away their roadmaps.",
            starts_at=starts,
            ends_at=starts + timedelta(hours=1, minutes=30),
            intro=(
                "Roadmaps are everywhere, and so are complaints about them: dates that slip, "
                "features nobody asked for, and plans that outlive what the team has learned. "
                "Some teams now work from a short list of problems and outcomes instead.\n\n"
                "We asked the room whether the roadmap still earns its place, or whether "
                "product teams would do better without one."
            ),
            format=EventFormat.HYBRID,
            venue="The Lighthouse, Level 2",
            video_url="https://meet.jit.si/productbreaks-roadmaps-on-trial",
            room_video_pattern="https://meet.jit.si/productbreaks-{event}-{room}",
            phase=Phase.ENDED,
            recap_published=True,
            recap_published_at=starts + timedelta(days=2),
        )
        Event.objects.filter(pk=event.pk).update(join_code=DEMO_CODE)
        event.join_code = DEMO_CODE
        self._speakers(
            event,
            users,
            for_text=(
                "I have watched roadmaps turn into contracts. Once a feature is on the slide, "
                "it gets built even after the research says it should not. Teams stop asking "
                "'what problem are we solving' and start asking 'are we on track'.\n\n"
                "Give a team a clear outcome and a few weeks, and they will find a better answer "
                "than the one we guessed a year ago. Keep a strategy, yes; drop the dated list."
            ),
            against_text=(
                "I run product in logistics, where a customs change or a new warehouse takes "
                "months to prepare. Without a roadmap, the teams who depend on us are flying blind.\n\n"
                "The problem is bad roadmaps, not roadmaps. A good one says what we are betting "
                "on and why, and changes when we learn."
            ),
        )
        Resource.objects.create(
            event=event,
            title="Outcome-based roadmaps: a field guide",
            url="https://example.org/outcome-roadmaps",
            position=0,
        )
        Resource.objects.create(
            event=event,
            title="The talk that started this debate",
            url="https://example.org/roadmaps-talk",
            position=1,
        )
        themes = {
            name: Theme.objects.create(event=event, name=name, position=i)
            for i, name in enumerate(THEMES)
        }

        attendees = [
            Attendee.objects.create(
                event=event,
                token=secrets.token_urlsafe(32),
                display_name=name,
                joined_at=starts + timedelta(minutes=rng.randint(-10, 12)),
            )
            for name in ATTENDEE_NAMES
        ]
        pre = Poll.objects.create(
            event=event,
            kind=PollKind.PRE_VOTE,
            state=PollState.CLOSED,
            opened_at=starts + timedelta(minutes=15),
            closed_at=starts + timedelta(minutes=20),
        )
        final = Poll.objects.create(
            event=event,
            kind=PollKind.FINAL_VOTE,
            state=PollState.CLOSED,
            opened_at=starts + timedelta(minutes=70),
            closed_at=starts + timedelta(minutes=75),
        )
        for poll, index in ((pre, 0), (final, 1)):
            version = 0
            for attendee, choices in zip(attendees, VOTES, strict=True):
                side = choices[index]
                if side is None:
                    continue
                at = poll.opened_at + timedelta(seconds=rng.randint(5, 280))
                first = side
                # A few people try one side before settling: the log keeps every change.
                if rng.random() < 0.15:
                    first = rng.choice([s for s in Side.values if s != side])
                    VoteLog.objects.create(poll=poll, attendee=attendee, side=first, at=at)
                    version += 1
                    at += timedelta(seconds=rng.randint(3, 15))
                VoteLog.objects.create(
                    poll=poll,
                    attendee=attendee,
                    side=side,
                    previous_side="" if first == side else first,
                    at=at,
                )
                version += 1
                Vote.objects.create(
                    poll=poll, attendee=attendee, side=side, cast_at=at, updated_at=at
                )
            Poll.objects.filter(pk=poll.pk).update(version=version + 2)

        round_ = BreakoutRound.objects.create(
            event=event,
            number=1,
            assignment=AssignmentMode.BALANCED,
            started_at=starts + timedelta(minutes=25),
            ends_at=starts + timedelta(minutes=50),
            ended_at=starts + timedelta(minutes=50),
            message="Five minutes left: pick the one point you most want the room to hear.",
            message_at=starts + timedelta(minutes=45),
        )
        rooms = [
            BreakoutRoom.objects.create(
                round=round_,
                name=name,
                position=i,
                location=f"Table {i + 1}",
                video_url=f"https://meet.jit.si/productbreaks-{DEMO_SLUG}-{name.lower()}",
            )
            for i, name in enumerate(["Harbour", "Meadow", "Summit"])
        ]
        # Deal attendees round the rooms by pre-vote side, so each room holds every side.
        by_side = sorted(zip(attendees, VOTES, strict=True), key=lambda pair: str(pair[1][0]))
        for i, (attendee, _votes) in enumerate(by_side):
            RoomMember.objects.create(room=rooms[i % 3], round=round_, attendee=attendee)

        n = 0
        for theme_name, sides in THEMES.items():
            for side, points in sides.items():
                for text, upvotes, highlighted in points:
                    room = rooms[n % 3]
                    author = room.members.order_by("?").first()
                    Point.objects.create(
                        event=event,
                        room=room,
                        theme=themes[theme_name],
                        side=side,
                        text=text,
                        author=author,
                        upvotes=upvotes,
                        highlighted=highlighted,
                        created_at=starts + timedelta(minutes=28 + n),
                    )
                    n += 1
        for i, (title, text) in enumerate(TAKEAWAYS):
            Takeaway.objects.create(event=event, title=title, text=text, position=i)
        return event

    def _live_event(self, users: dict) -> Event:
        starts = (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        event = event_create(
            organiser=users["organiser"],
            title="Design sprints, live",
            slug=LIVE_SLUG,
            motion="Design sprints are a waste of a week.",
            starts_at=starts,
            ends_at=starts + timedelta(hours=1, minutes=30),
            intro=(
                "Five days, one problem, a prototype and five customer interviews. Loved by "
                "some teams and quietly dropped by others. Come and argue it out."
            ),
            format=EventFormat.VENUE,
            venue="Canal Works, Studio B",
        )
        Event.objects.filter(pk=event.pk).update(join_code=LIVE_CODE)
        event.join_code = LIVE_CODE
        self._speakers(
            event,
            users,
            for_text=(
                "A sprint buys certainty about one narrow question at the cost of a whole team's "
                "week. Most teams can learn the same in two days of focused discovery."
            ),
            against_text=(
                "The week is the point: it gets the decision-maker in the room and stops the "
                "debate from dragging on for a quarter."
            ),
        )
        for i, name in enumerate(["Speed of learning", "Who is in the room", "After the sprint"]):
            Theme.objects.create(event=event, name=name, position=i)
        Resource.objects.create(
            event=event,
            title="Sprint checklist",
            url="https://example.org/sprint-checklist",
            position=0,
        )
        Poll.objects.create(event=event, kind=PollKind.PRE_VOTE)
        Poll.objects.create(event=event, kind=PollKind.FINAL_VOTE)
        # An invitation to try the team's link with (demo_urls prints it).
        team.invitation_send(
            event=event, email=DEMO_INVITEE, role=TeamRole.MODERATOR, invited_by=users["organiser"]
        )
        return event
