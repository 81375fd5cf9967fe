"""How many frames one socket may send: a token bucket per socket (SECURITY.md, "Limits").

Every client frame costs one token, whatever it is (a vote, a ping, a room.sync, a host
command, a malformed or binary frame). A socket starts with FRAME_BURST tokens and earns
FRAME_RATE a second up to FRAME_BURST again; a frame that finds the bucket empty closes the
socket with CLOSE_TOO_MANY_FRAMES (4429, debates.live.protocol), and what the client sends
after that costs nothing.

The numbers, and why no honest client comes near them
    An attendee's page sends a ping every 25 s, one room.sync after a round starts or ends or
    a host moves them, and one vote.cast per tap. Someone hammering the buttons manages 6 to 8
    taps a second, for a few seconds (the vote rate limit refuses more than 30 changes a
    minute anyway). A host console sends one host.command per click, at human speed too. So
    an honest client peaks below 10 frames in any second and averages well under one a
    second: it earns tokens faster (20 a second) than it can spend them and never takes the
    bucket below 50 of its 60. A flood is closed after about 60 frames.

Where frames are counted: where they arrive
    Under daphne, `transport.frames_guard` counts each frame in daphne's protocol (`onMessage`,
    on the reactor) before it is queued for the consumer. Counting in the consumer would be too
    late: daphne parses a whole read (a thousand small frames) per turn of the loop and queues
    each one (an unbounded queue), while the consumer takes one per turn, so a flood piles up in
    daphne's queue (tens of MB) and the consumer sees it at a trickle that may never empty the
    bucket. When the bucket is empty, the guard sends the close frame and stops reading the
    socket: what the client sends afterwards stays unread in the kernel's buffer until autobahn
    drops the connection (its close handshake timeout, 1 s); a frame already read is dropped
    without being queued. Outside daphne (in-process tests) the consumer spends the budget.
"""

from __future__ import annotations

import time

FRAME_RATE = 20.0  # tokens a socket earns per second
FRAME_BURST = 60  # the bucket's size: frames a socket may send at once (full on connect)


class FrameBudget:
    """One socket's bucket. The limits are read when it is made, so a test can change them."""

    __slots__ = ("burst", "rate", "spent_out", "stamp", "tokens")

    def __init__(self) -> None:
        self.rate = float(FRAME_RATE)
        self.burst = float(FRAME_BURST)
        self.tokens = self.burst
        self.stamp = time.monotonic()
        self.spent_out = False  # once empty, always empty: the socket is being closed

    def spend(self) -> bool:
        """A frame arrived: True while the socket is within its budget."""
        if self.spent_out:
            return False
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1.0:
            self.spent_out = True
            return False
        self.tokens -= 1.0
        return True
