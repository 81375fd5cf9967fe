"""The words the live scripts show (static/js/live.js, rooms.js), translated on the server:
the scripts hold no user-facing text. Shared by the attendee's, the room's and the console's
pages."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

HOST_RIGHTS_ENDED = _(
    "You can no longer run this event: the host link was changed, or your access was. "
    "Ask the organiser for the new host link."
)


def live_labels() -> dict[str, str]:
    """Words static/js/live.js shows, translated here (the script holds no user-facing text)."""
    return {
        "for": str(_("For")),
        "against": str(_("Against")),
        "undecided": str(_("Undecided")),
        "votes_one": str(_("%(n)s vote")),
        "votes_other": str(_("%(n)s votes")),
        "your_vote": str(_("Your vote:")),
        "can_change": str(_("You can change it until the poll closes.")),
        "no_vote": str(_("You have not voted yet.")),
        "sending": str(_("Sending your vote…")),
        "saved": str(_("Vote saved.")),
        "replaced": str(_("A newer vote from you replaced this one.")),
        "too_fast": str(
            _(
                "This page sent too much too fast, so live updates stopped. They come back in "
                "a minute or two; you can still vote."
            )
        ),
        "live": str(_("Live")),
        "connecting": str(_("Connecting…")),
        "offline": str(_("Connection lost. Reconnecting…")),
        "closed": str(_("The poll is closed.")),
        "tally": str(
            _(
                "%(poll)s: for %(for)s%%, against %(against)s%%, undecided %(undecided)s%%, %(votes)s."
            )
        ),
        "hidden_tally": str(
            _("%(poll)s: %(votes)s so far. Results are shown when the poll closes.")
        ),
        "turnout": str(_("%(total)s of %(joined)s who joined have voted")),
        "phase": str(_("Now: %(phase)s")),
        "host_revoked": str(HOST_RIGHTS_ENDED),
    }


def rooms_labels() -> dict[str, str]:
    """Words static/js/rooms.js shows."""
    return {
        "time_up": str(_("Time is up")),
        "back": str(_("The breakout is over: everyone is back together.")),
    }
