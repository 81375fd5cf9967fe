"""The one websocket consumer: a thin translation between frames and debates.live/services.

Who the socket is comes from the session (see debates.live.connect); what a vote means is
decided by debates.services, through the process's batch writer.
"""

from __future__ import annotations

import json
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from debates import live
from debates.services import Ballot

PONG = live.encode({"type": "pong"})


def _parse(text_data: str | None, bytes_data: bytes | None) -> dict[str, Any] | None:
    """A client frame as a dict, or None if it is binary, oversized or not a JSON object."""
    if bytes_data is not None or text_data is None or len(text_data) > live.MAX_FRAME:
        return None
    try:
        message = json.loads(text_data)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


class LiveConsumer(AsyncWebsocketConsumer):
    connection: live.Connection | None = None

    @property
    def channel_layer_alias(self) -> str:  # type: ignore[override]
        # No channel layer at all (fan-out is debates.live's), except in the bench baseline.
        return live.consumer_layer_alias()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels 4.2+ hops to a thread (aclose_old_connections) before every handler, i.e.
        # for every frame. This consumer reaches the ORM only through database_sync_to_async,
        # which closes stale connections itself, so the hop is pure cost at thousands of votes.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        slug = self.scope["url_route"]["kwargs"]["slug"]
        self.connection = await live.connect(self, slug=slug)

    async def disconnect(self, code: int) -> None:
        await live.disconnect(self)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        message = _parse(text_data, bytes_data)
        kind = message.get("type") if message else None
        if kind == "ping":
            await self.send(text_data=PONG)
        elif kind == "vote.cast":
            await self._vote(message)
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
        live.vote_submit(self, ballot=ballot, ref=ref)

    async def live_forward(self, message: dict[str, Any]) -> None:
        """Bench baseline only (PB_FANOUT=group_send): a tally relayed by the channel layer."""
        await self.send(text_data=message["text"])
