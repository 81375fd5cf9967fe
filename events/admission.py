"""Who may come in, and how fast: proof of presence and the join budget (SECURITY.md, "One
person, one vote").

Screen admission (Event.admission == SCREEN)
    The projector and the console show a six-character code and a QR link that rotate every
    ROTATE_SECONDS. The code and link of the period before are still accepted, so a code is good
    for between one and two periods after it first appears: long enough to type, too short for a
    photo posted online. Both are an HMAC of the event's id, its host key and the period number,
    keyed with SECRET_KEY: every process computes the same code with nothing stored or shared,
    and rotating the host link (which a host does when a link leaks) changes them too.
    A code or link that checks out gives the browser an admission pass for PASS_SECONDS (kept
    in its session), so the person can take their time over their name; someone who has joined
    stays joined through reloads and reconnects (their attendee token is in the session).
    Nothing public admits anyone: the event's standing code (home page, event page, recap) only
    leads to "scan the code on the screen".

Open admission (Event.admission == OPEN)
    The standing code and link admit anyone, as for an online event whose organiser chose it;
    the console says plainly that an open door can be stuffed.

The join budget (every mode)
    Successful joins from one network (an IPv4 address, an IPv6 /64) are a token bucket: a
    venue-sized burst goes straight in, after that joins are spaced JOIN_RATE a second. A join
    over the budget waits its turn (the view sleeps without holding a thread); one that would
    wait more than JOIN_MAX_WAIT is answered 429 with Retry-After, and the page tries again by
    itself. Nobody is refused for being behind a busy address. The bucket is a GCRA kept in
    Redis (one Lua call, atomic across processes) when REDIS_URL is set, else in this process.

Wrong codes (every mode)
    events.services counts wrong codes per network (JOIN_GUESS_LIMIT). That throttle never
    stops a join that carries the current screen code or QR token: the code is checked first.
"""

from __future__ import annotations

import base64
import hmac
import logging
import math
import threading
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import salted_hmac

from events.models import JOIN_CODE_LENGTH, Admission, Event, Phase
from events.services import JOIN_CODE_ALPHABET, join_code_normalise, network_of

log = logging.getLogger("productbreaks.limits")

ROTATE_SECONDS = 45  # a new screen code and QR link every 45 s...
GRACE_PERIODS = 1  # ...and the previous ones still admit for one more period
PASS_SECONDS = 15 * 60  # a checked code or link lets this browser join within 15 minutes
ADMITTED_SESSION_KEY = "pb_admitted"  # {event id: when the admission pass ends, epoch s}
PROJECTOR_SESSION_KEY = "pb_projector_events"  # {event id: projector key}

# The budget: a venue's burst goes straight in (200), then 10 joins a second from one network.
# 500 people behind one NAT arriving at once are all in within 30 s; a script in the room gets
# no more than a venue would, and the host's door panel shows it.
JOIN_BURST = settings.JOIN_BUDGET_BURST
JOIN_RATE = settings.JOIN_BUDGET_RATE
JOIN_MAX_WAIT = 25.0  # seconds a join may be held; past it: 429 with Retry-After

_QR_TOKEN_BYTES = 16  # 128 bits: a QR link cannot be guessed, so it needs no guess throttle

# Seconds since the epoch; one name for every reading here, so tests can move time.
clock = time.time


# ---------------------------------------------------------------- networks


def network_hash(address: str) -> str:
    """What an attendee row keeps of where they joined from: a keyed hash, never the address."""
    return salted_hmac(
        "productbreaks.network", network_of(address), algorithm="sha256"
    ).hexdigest()[:16]


# ---------------------------------------------------------------- screen codes and QR links


def _period(now: float) -> int:
    return int(now // ROTATE_SECONDS)


def _mac(purpose: str, event: Event, period: int) -> bytes:
    value = f"{event.pk}:{event.host_key}:{period}"
    return salted_hmac(f"productbreaks.admission.{purpose}", value, algorithm="sha256").digest()


def screen_code(event: Event, *, now: float | None = None, period: int | None = None) -> str:
    """The code the screen shows now (or in `period`): six characters of the join alphabet."""
    period = _period(now or clock()) if period is None else period
    number = int.from_bytes(_mac("code", event, period)[:8], "big")
    chars = []
    for _ in range(JOIN_CODE_LENGTH):
        number, index = divmod(number, len(JOIN_CODE_ALPHABET))
        chars.append(JOIN_CODE_ALPHABET[index])
    return "".join(chars)


def qr_token(event: Event, *, now: float | None = None, period: int | None = None) -> str:
    """The secret part of the QR link the screen shows now: 22 URL-safe characters."""
    period = _period(now or clock()) if period is None else period
    mac = _mac("qr", event, period)[:_QR_TOKEN_BYTES]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _valid_periods(now: float) -> range:
    current = _period(now)
    return range(current - GRACE_PERIODS, current + 1)


def qr_token_valid(event: Event, token: str, *, now: float | None = None) -> bool:
    now = now or clock()
    return any(
        hmac.compare_digest(token.encode(), qr_token(event, period=p).encode())
        for p in _valid_periods(now)
    )


@dataclass(frozen=True)
class ScreenState:
    """What the screen shows: the code, the QR token, and when they change."""

    code: str
    token: str
    seconds_left: int


def screen_state(event: Event, *, now: float | None = None) -> ScreenState:
    now = now or clock()
    period = _period(now)
    return ScreenState(
        code=screen_code(event, period=period),
        token=qr_token(event, period=period),
        seconds_left=max(1, math.ceil((period + 1) * ROTATE_SECONDS - now)),
    )


def event_for_code(raw: str, *, now: float | None = None) -> Event | None:
    """The event a typed code admits to, forgiving case, spaces, dashes and look-alikes: the
    current (or previous) screen code of an event in screen admission that has not ended, or
    the standing code of an open event. One query, and one HMAC per event in screen mode."""
    code = join_code_normalise(raw)
    if len(code) != JOIN_CODE_LENGTH:
        return None
    now = now or clock()
    periods = _valid_periods(now)
    candidates = Event.objects.exclude(phase=Phase.ENDED).filter(admission=Admission.SCREEN)
    for event in candidates.only("pk", "host_key", "slug", "join_code", "admission", "phase"):
        if any(hmac.compare_digest(code, screen_code(event, period=p)) for p in periods):
            return Event.objects.get(pk=event.pk)
    return (
        Event.objects.filter(join_code=code, admission=Admission.OPEN)
        .exclude(phase=Phase.ENDED)
        .first()
    )


def event_for_standing_code(raw: str) -> Event | None:
    """The event whose standing (printed, public) code this is, whatever its admission."""
    code = join_code_normalise(raw)
    return Event.objects.filter(join_code=code).first() if code else None


# ---------------------------------------------------------------- the admission pass


def pass_grant(session: MutableMapping[str, Any], event: Event, *, now: float | None = None):
    """This browser showed what the room shows: it may join within PASS_SECONDS."""
    passes = session.get(ADMITTED_SESSION_KEY)
    passes = dict(passes) if isinstance(passes, dict) else {}
    now = now or clock()
    passes = {k: v for k, v in passes.items() if isinstance(v, int | float) and v > now}
    passes[str(event.pk)] = int(now + PASS_SECONDS)
    session[ADMITTED_SESSION_KEY] = passes


def may_join(session: Mapping[str, Any] | None, event: Event, *, now: float | None = None) -> bool:
    """Whether this browser may join now: the event has not ended, and its door is open or
    this browser holds an unexpired pass."""
    if event.phase == Phase.ENDED:
        return False
    if event.admission == Admission.OPEN:
        return True
    passes = session.get(ADMITTED_SESSION_KEY) if session is not None else None
    expiry = passes.get(str(event.pk)) if isinstance(passes, dict) else None
    return isinstance(expiry, int | float) and expiry > (now or clock())


# One join at a time per browser: a second POST from the same session while the first waits
# its turn (a double tap, or a script firing many with one pass) is told to wait, so one pass
# makes one attendee and holds at most one place in the queue.
_PENDING_SECONDS = int(JOIN_MAX_WAIT) + 10


def join_pending_start(session_key: str) -> bool:
    """Marks this browser as joining; False if it is joining already."""
    try:
        return cache.add(f"join-pending:{session_key}", 1, timeout=_PENDING_SECONDS)
    except Exception:
        log.warning("join budget: the cache is unreachable; not marking a pending join")
        return True


def join_pending_end(session_key: str) -> None:
    try:
        cache.delete(f"join-pending:{session_key}")
    except Exception:
        log.warning("join budget: the cache is unreachable; a pending mark expires by itself")


# ---------------------------------------------------------------- the projector link


def projector_key(event: Event) -> str:
    """The secret of the projector link: it shows the rotating code, and nothing a host can do.
    Derived from the host key, so rotating the host link ends old projector links too."""
    value = f"{event.pk}:{event.host_key}"
    return salted_hmac("productbreaks.projector", value, algorithm="sha256").hexdigest()[:24]


def projector_redeem(*, event: Event, key: str, session: MutableMapping[str, Any]) -> bool:
    if not key or not hmac.compare_digest(key.encode(), projector_key(event).encode()):
        return False
    keys = session.get(PROJECTOR_SESSION_KEY)
    keys = dict(keys) if isinstance(keys, dict) else {}
    keys[str(event.pk)] = key
    session[PROJECTOR_SESSION_KEY] = keys
    return True


def projector_granted(*, event: Event, session: Mapping[str, Any] | None) -> bool:
    keys = session.get(PROJECTOR_SESSION_KEY) if session is not None else None
    key = keys.get(str(event.pk)) if isinstance(keys, dict) else None
    return isinstance(key, str) and hmac.compare_digest(key.encode(), projector_key(event).encode())


# ---------------------------------------------------------------- the join budget

# GCRA ("theoretical arrival time"): each join moves the network's TAT on by 1/JOIN_RATE; a join
# may go once TAT - (JOIN_BURST - 1)/JOIN_RATE has come. Hand-written because neither Django's
# cache nor nginx can hold a request back inside the application: django-ratelimit and
# limits refuse, they do not schedule (and nginx's limit_req, in deploy/, sits in front of this).
_GCRA_LUA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local max_wait = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
if wait > max_wait then return string.format('%.6f', wait) end
local expire = math.ceil((tat + interval - now) * 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.6f', tat + interval), 'PX', expire)
return string.format('%.6f', wait)
"""

_local_lock = threading.Lock()
_redis_client: Any = None


@dataclass(frozen=True)
class Turn:
    """A join's place in its network's queue: wait `wait` seconds, or (if `retry_after` is
    set) come back then: nothing was reserved."""

    wait: float = 0.0
    retry_after: int | None = None


def _gcra(tat: float | None, now: float) -> tuple[float, float | None]:
    """(wait, new TAT) for one join; new TAT is None when the wait is over JOIN_MAX_WAIT."""
    interval = 1.0 / JOIN_RATE
    tat = max(tat or now, now)
    wait = max(0.0, tat - (JOIN_BURST - 1) * interval - now)
    if wait > JOIN_MAX_WAIT:
        return wait, None
    return wait, tat + interval


def join_turn(*, address: str, now: float | None = None) -> Turn:
    """Reserves a join for this client's network and says how long it must wait first."""
    key = f"join-budget:{network_of(address)}"
    now = now or clock()
    try:
        wait = _join_turn_redis(key, now) if settings.REDIS_URL else _join_turn_local(key, now)
    except Exception:
        # A broken counter must not lock a room out of its event.
        log.warning("join budget: the counter is unreachable; letting it through")
        return Turn()
    if wait > JOIN_MAX_WAIT:  # nothing was reserved: by then the wait is back within bounds
        return Turn(retry_after=max(1, math.ceil(wait - JOIN_MAX_WAIT)))
    return Turn(wait=wait)


def join_turn_return(*, address: str, now: float | None = None) -> None:
    """Gives back a reserved turn whose join never happened (the request was dropped while it
    waited): a script that reserves and hangs up must not hold the venue's queue."""
    key = f"join-budget:{network_of(address)}"
    now = now or clock()
    interval = 1.0 / JOIN_RATE
    try:
        if settings.REDIS_URL:
            _return_redis(key, now, interval)
        else:
            with _local_lock:
                tat = cache.get(key)
                if tat is not None and tat - interval > now:
                    cache.set(key, tat - interval, timeout=math.ceil(tat - interval - now) + 1)
                elif tat is not None:
                    cache.delete(key)
    except Exception:
        log.warning("join budget: could not give a turn back")


_RETURN_LUA = """
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat then return 0 end
local back = tat - tonumber(ARGV[2])
local now = tonumber(ARGV[1])
if back > now then
  redis.call('SET', KEYS[1], string.format('%.6f', back), 'PX', math.ceil((back - now) * 1000) + 1000)
else
  redis.call('DEL', KEYS[1])
end
return 1
"""
_return_script: Any = None


def _return_redis(key: str, now: float, interval: float) -> None:
    global _return_script
    if _return_script is None:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1)
        _return_script = client.register_script(_RETURN_LUA)
    _return_script(keys=[f"pb:{key}"], args=[f"{now:.6f}", f"{interval:.6f}"])


def _join_turn_local(key: str, now: float) -> float:
    with _local_lock:  # one process: a get and a set under one lock are atomic
        wait, tat = _gcra(cache.get(key), now)
        if tat is not None:
            cache.set(key, tat, timeout=math.ceil(tat - now) + 1)
        return wait


def _join_turn_redis(key: str, now: float) -> float:
    global _redis_client
    if _redis_client is None:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1)
        _redis_client = client.register_script(_GCRA_LUA)
    interval = 1.0 / JOIN_RATE
    reply = _redis_client(
        keys=[f"pb:{key}"],
        args=[f"{now:.6f}", f"{interval:.6f}", f"{(JOIN_BURST - 1) * interval:.6f}", JOIN_MAX_WAIT],
    )
    return float(reply)
