"""Makes the bench's event: a debate in its pre-vote with the poll open, results shown live.

Run by the harness in the server's own environment: `python -m bench.fixture '{}'`; prints JSON.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta


def main(options: dict) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from debates.models import PollKind, ResultsVisibility
    from debates.services.voting import poll_open
    from events.admission import projector_key
    from events.models import Phase
    from events.services import event_create

    organiser, _ = get_user_model().objects.get_or_create(username="bench-organiser")
    event = event_create(
        organiser=organiser,
        title=options.get("title", "Bench debate"),
        motion="Load tests belong in the definition of done.",
        starts_at=timezone.now() - timedelta(minutes=5),
        phase=Phase.PRE_VOTE,
        # e.g. "open" (bench.flood): the standing join code admits, whatever the default is.
        **({"admission": options["admission"]} if options.get("admission") else {}),
    )
    poll = poll_open(event=event, kind=PollKind.PRE_VOTE, results_visibility=ResultsVisibility.LIVE)
    sessions = []
    if options.get("prejoin"):
        # Socket capacity alone: attendees made by the join service with their sessions, as
        # POST /join/ would leave them, so the timed phase only opens sockets.
        from django.contrib.sessions.backends.db import SessionStore
        from django.db import transaction

        from debates.selectors import ATTENDEE_SESSION_KEY
        from events.services import attendee_join

        with transaction.atomic():
            for index in range(int(options["prejoin"])):
                attendee = attendee_join(event=event, display_name=f"Bench {index}")
                session = SessionStore()
                session[ATTENDEE_SESSION_KEY] = {str(event.pk): attendee.token}
                session.create()
                sessions.append(f"sessionid={session.session_key}")
    return {
        "sessions": sessions,
        "event_id": event.pk,
        "slug": event.slug,
        # The projector link: the workers read the screen's rotating code as a phone would.
        "projector_path": f"/e/{event.slug}/projector-link/{projector_key(event)}/",
        "screen_path": f"/e/{event.slug}/screen/",
        "poll_id": poll.pk,
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}"))))
