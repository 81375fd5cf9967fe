"""The plain Channels way, to measure the design against: `python -m bench.run baseline`.

Served as its own ASGI application (`daphne bench.baseline:application`; bench/server.py starts
it for the baseline), never by the product. Tallies go the way a plain Channels app sends them:
every committed vote is its own transaction (a writer batch of one) and its own
`channel_layer.group_send` of a fresh tally to a group of all sockets, and each consumer
forwards it. Hosts hear tallies in full on their layer group, everyone else on the event's.
Everything else (connect, the event state, rooms, host messages) is the product's.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.layers import DEFAULT_CHANNEL_LAYER, get_channel_layer
from channels.routing import ProtocolTypeRouter
from django.urls import path

from productbreaks import asgi as product

# productbreaks.asgi sets Django up: only now may the consumer (and its models) be imported.
http_app, websocket_app = product.django_asgi_app, product.websocket_app

from debates import live  # noqa: E402
from debates.consumers import LiveConsumer  # noqa: E402
from debates.live import plugs  # noqa: E402


class BaselineConsumer(LiveConsumer):
    """The product's consumer, with a channel layer, relaying tallies the layer brings."""

    channel_layer_alias = DEFAULT_CHANNEL_LAYER

    async def live_forward(self, message: dict[str, Any]) -> None:
        await self.send(text_data=message["text"])


class GroupSendFanout(live.Fanout):
    """One transaction and one group_send per vote; sockets in layer groups, not the hub's."""

    batch_max = 1

    def tally_changed(self, poll_id: int, spawn: Any) -> bool:
        spawn(self._group_send(poll_id))
        return True

    async def _group_send(self, poll_id: int) -> None:
        layer = get_channel_layer()
        deliveries = await database_sync_to_async(plugs.read)("poll", poll_id)
        for group, text, _exclude in deliveries:
            await layer.group_send(group, {"type": "live.forward", "text": text})

    async def registered(self, consumer: Any, connection: live.Connection) -> None:
        if getattr(consumer, "channel_layer", None) is None:
            return
        group = (live.hosts_group if connection.host else live.event_group)(connection.event_id)
        await consumer.channel_layer.group_add(group, consumer.channel_name)
        consumer.baseline_group = group
        consumer.baseline_event = connection.event_id

    async def unregistered(self, consumer: Any) -> None:
        group = getattr(consumer, "baseline_group", None)
        if group is not None:
            await consumer.channel_layer.group_discard(group, consumer.channel_name)
            consumer.baseline_group = None

    async def left(self, consumer: Any, group: str) -> None:
        # A host demoted: from the hosts' layer group to the event's (public tallies only).
        if group == getattr(consumer, "baseline_group", None):
            await consumer.channel_layer.group_discard(group, consumer.channel_name)
            consumer.baseline_group = live.event_group(consumer.baseline_event)
            await consumer.channel_layer.group_add(consumer.baseline_group, consumer.channel_name)


FANOUT = GroupSendFanout()

_app = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": websocket_app([path("ws/e/<slug:slug>/", BaselineConsumer.as_asgi())]),
    }
)


async def application(scope: dict, receive: Any, send: Any) -> None:
    """The product's stack with the baseline's consumer and fan-out plugged in."""
    if plugs.fanout() is not FANOUT:
        live.fanout_plug(FANOUT)
    await _app(scope, receive, send)
