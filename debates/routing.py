from __future__ import annotations

from django.urls import path

from debates.consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/e/<slug:slug>/", LiveConsumer.as_asgi()),
]
