"""The one websocket consumer: a thin translation between frames and debates.live/services.

Who the socket is comes from the session (debates.live.hub.connect, through the debate's
reader in debates.realtime); what a vote means is decided by debates.services, through the
process's batch writer (debates.live.writer). The messages are debates.live.protocol's.
"""

from __future__ import annotations

import json
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import translation

from debates import consumer_audience, host_actions, host_rights, live, selectors
from debates.live import budget as frame_budget
from debates.live import protocol, transport
from debates.services import rounds, set_aside
from debates.services.voting import Ballot
from events.models import Attendee, Event

PONG = live.encode(protocol.pong())
# An alias no channel layer is configured under: this consumer gets none (fan-out is
# debates.live's); bench/baseline.py subclasses it with the default layer.
NO_LAYER = "productbreaks-no-layer"


def _parse(text_data: str | None, bytes_data: bytes | None) -> dict[str, Any] | None:
    """A client frame as a dict, or None if it is binary, oversized or not a JSON object."""
    if bytes_data is not None or text_data is None or len(text_data) > live.MAX_FRAME:
        return None
    try:
        message = json.loads(text_data)
    except (ValueError, RecursionError):  # 4 KB of "[" nests deeper than Python recurses
        return None
    if not isinstance(message, dict):
        return None
    # A frame is valid UTF-8, but a JSON escape can spell half a surrogate pair ("\ud800"):
    # such a string could be neither stored nor sent back (an echo of it would crash the send).
    if "\\u" in text_data and not _is_unicode(message):
        return None
    return message


def _is_unicode(message: dict[str, Any]) -> bool:
    try:
        json.dumps(message, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _has_float(value: object) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def scope_language(scope: dict) -> str:
    """The language the socket's page was shown in, chosen as LocaleMiddleware chose it: the
    language switch's cookie, then Accept-Language, then LANGUAGE_CODE."""
    headers = dict(scope.get("headers") or ())
    accept = headers.get(b"accept-language", b"").decode("latin-1")
    request = _LanguageRequest(scope.get("cookies") or {}, {"HTTP_ACCEPT_LANGUAGE": accept})
    return translation.get_language_from_request(request)  # type: ignore[arg-type]


class _LanguageRequest:
    """The two attributes get_language_from_request reads of a request."""

    def __init__(self, cookies: dict[str, str], meta: dict[str, str]) -> None:
        self.COOKIES = cookies
        self.META = meta


class LiveConsumer(AsyncWebsocketConsumer):
    connection: live.Connection | None = None
    room_group: str | None = None  # the breakout room this attendee's socket follows
    closing = False  # the server closed it: what the client still sends is dropped unread
    frames_guarded = False  # daphne counts this socket's frames (transport.frames_guard)
    channel_layer_alias = NO_LAYER
    # What this socket's refusal reasons are worded in (set at connect; live's writer reads it).
    language: str = settings.LANGUAGE_CODE

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        # Channels' loop makes a Task per frame to watch a channel layer this consumer does
        # not have (transport.consume says why it matters); bench/baseline.py's has one.
        if not await transport.consume(self, scope, receive, send):
            await super().__call__(scope, receive, send)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels 4.2+ hops to a thread (aclose_old_connections) before every handler, i.e.
        # for every frame. This consumer reaches the ORM only through database_sync_to_async,
        # which closes stale connections itself, so the hop is pure cost at thousands of votes.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.language = scope_language(self.scope)
        self.budget = frame_budget.FrameBudget()
        self.frames_guarded = transport.frames_guard(
            self.scope, self.budget.spend, close_code=live.CLOSE_TOO_MANY_FRAMES
        )
        slug = self.scope["url_route"]["kwargs"]["slug"]
        self.connection = await live.connect(self, slug=slug)
        if self.connection is not None and self.connection.groups:
            # Registered in it by live.connect, read with the rest of the connection.
            self.room_group = self.connection.groups[0]

    async def disconnect(self, code: int) -> None:
        await live.disconnect(self)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        self.closing = True
        await super().close(code=code, reason=reason)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # daphne still hands over frames until the client's close reply (or its 1 s timeout).
        if self.closing:
            return
        if not self.frames_guarded and not self.budget.spend():
            await self.close(code=live.CLOSE_TOO_MANY_FRAMES)
            return
        message = _parse(text_data, bytes_data)
        kind = message.get("type") if message else None
        if kind == "ping":
            await self.send(text_data=PONG)
        elif kind == "vote.cast":
            await self._vote(message)
        elif kind == "host.command":
            await self._host_command(message)
        elif kind == "room.sync":
            await self._room_sync()
        elif kind in consumer_audience.FRAMES:  # questions and reactions (issue 15)
            await consumer_audience.receive(self, message)
        else:
            await self.close(code=live.CLOSE_BAD_MESSAGE)

    async def _vote(self, message: dict[str, Any]) -> None:
        poll, side, ref = message.get("poll"), message.get("side"), message.get("ref", "")
        if not (_is_id(poll) and isinstance(side, str) and isinstance(ref, str)):
            await self.close(code=live.CLOSE_BAD_MESSAGE)
            return
        if len(side) > 20 or len(ref) > live.REF_MAX:
            await self.close(code=live.CLOSE_BAD_MESSAGE)
            return
        connection = self.connection
        if connection is None or connection.attendee_id is None:
            await self.close(code=live.CLOSE_FORBIDDEN)
            return
        ballot = Ballot(
            poll_id=poll,
            attendee_id=connection.attendee_id,
            event_id=connection.event_id,
            side=side,
        )
        await live.vote_submit(self, ballot=ballot, ref=ref)

    # ------------------------------------------------------------ host console (host console)

    async def _host_command(self, message: dict[str, Any]) -> None:
        """{"type": "host.command", "command": "round.end", "ref": "c1", "data": {"round": 3}}

        Answered with command.done or command.refused (the reason, e.g. an empty message).
        A socket that is not a host of the event is closed with 4403.
        """
        name, ref, data = message.get("command"), message.get("ref", ""), message.get("data", {})
        if not (isinstance(name, str) and isinstance(ref, str) and isinstance(data, dict)):
            await self.close(code=live.CLOSE_BAD_MESSAGE)
            return
        if len(ref) > live.REF_MAX or not all(isinstance(key, str) for key in data):
            await self.close(code=live.CLOSE_BAD_MESSAGE)
            return
        if _has_float(data):
            # No command takes a fraction, and the forms were made for HTTP's strings: an id of
            # Infinity would reach the database as int(inf) and fail there.
            await self.close(code=live.CLOSE_BAD_MESSAGE)
            return
        connection = self.connection
        if connection is None or not connection.host:
            await self.close(code=live.CLOSE_FORBIDDEN)
            return
        if name not in host_actions.HOST_ACTIONS:
            # A name no action has is a malformed frame: closed before any database work.
            await self.close(code=live.CLOSE_BAD_MESSAGE)
            return
        outcome = await database_sync_to_async(_host_command_run)(
            event_id=connection.event_id,
            user=self.scope.get("user"),
            session=self.scope.get("session"),
            name=name,
            data=data,
            language=self.language,
        )
        if outcome is _FORBIDDEN:
            await self.close(code=live.CLOSE_FORBIDDEN)
            return
        if outcome is None:
            answer = protocol.command_done(ref=ref, command=name)
        elif outcome.code == host_actions.Refusal.UNKNOWN:
            await self.close(code=live.CLOSE_BAD_MESSAGE)
            return
        else:
            answer = protocol.command_refused(ref=ref, command=name, reason=outcome.reason)
        await self.send(text_data=live.encode(answer))

    async def _room_follow(self) -> int | None:
        """Puts this attendee's socket in their breakout room's group (and out of any other),
        placing a late joiner in the smallest room first."""
        connection = self.connection
        if connection is None or connection.attendee_id is None:
            return None
        room_id = await database_sync_to_async(_room_of_attendee)(connection.attendee_id)
        group = live.room_group(room_id) if room_id is not None else None
        if self.room_group != group:
            if self.room_group is not None:
                await live.unsubscribe(self, self.room_group)
            if group is not None:
                await live.subscribe(self, group)
            self.room_group = group
        return room_id

    async def _room_sync(self) -> None:
        """{"type": "room.sync"}: the client saw rooms change; answered with room.synced."""
        room_id = await self._room_follow()
        await self.send(text_data=live.encode(protocol.room_synced(room_id)))


_FORBIDDEN = object()


def _host_command_run(
    *, event_id: int, user: Any, session: Any, name: str, data: dict[str, Any], language: str
) -> object:
    """Re-checks host rights (a rotated host link ends them mid-connection), then runs the
    action: None when done, the refusal (HostActionRefused), or _FORBIDDEN. The refusal's
    reason is worded in the socket's language."""
    with translation.override(language):
        return _host_command_checked(
            event_id=event_id, user=user, session=session, name=name, data=data
        )


def _host_command_checked(
    *, event_id: int, user: Any, session: Any, name: str, data: dict[str, Any]
) -> object:
    event = Event.objects.filter(pk=event_id).first()
    # Who the socket is NOW: the session re-read (a logout or a new password ends an account's
    # rights; the scope holds the user as it was at connect).
    session_key = getattr(session, "session_key", None)
    if session_key:
        session = host_rights.session_afresh(session_key)
        user = host_rights.user_of_session(session)
    if event is None or not selectors.can_host(event=event, user=user, session=session):
        return _FORBIDDEN
    try:
        host_actions.host_action_run(
            event=event, name=name, data=data, actor=set_aside.actor_for(user=user)
        )
    except host_actions.HostActionRefused as refused:
        return refused
    return None


def _room_of_attendee(attendee_id: int) -> int | None:
    """The attendee's room in the running round, placing them if they arrived late."""
    attendee = Attendee.objects.filter(pk=attendee_id).first()
    room = rounds.room_arrive(attendee=attendee) if attendee else None
    return room.pk if room is not None else None
