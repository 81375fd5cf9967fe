"""ASGI entry point: HTTP through Django, websockets through Channels."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "productbreaks.settings")

# Django must be set up before the consumers (and their models) are imported.
django.setup(set_prefix=False)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from debates.live.transport import (  # noqa: E402
    OneDatabaseThreadASGIHandler,
    OneHopASGIHandler,
    daphne_protocol_middleware,
)
from debates.routing import websocket_urlpatterns  # noqa: E402
from productbreaks.origins import SameOriginValidator  # noqa: E402
from productbreaks.overload import OverloadGuard  # noqa: E402

# A sync view's middleware chain in one thread hop (see the class); on SQLite, also every
# request's ORM work on the one database thread. Static files: WhiteNoise's middleware when
# SERVE_STATIC (settings), nginx behind deploy/.
django_asgi_app = OneDatabaseThreadASGIHandler() if settings.SQLITE else OneHopASGIHandler()


def websocket_app(consumer_routes: list) -> object:
    """The websocket stack around some routes (bench/baseline.py builds its own)."""
    # Only our own pages' origin, scheme, host and port (productbreaks/origins.py).
    # Inside daphne_protocol_middleware, which reads daphne's own `send`; the overload guard
    # refuses a connect that would wait too long, before any work (overload.py).
    return daphne_protocol_middleware(
        OverloadGuard(SameOriginValidator(AuthMiddlewareStack(URLRouter(consumer_routes))))
    )


application = ProtocolTypeRouter(
    # Pages that would queue past what a person waits are answered early (overload.py).
    {
        "http": OverloadGuard(django_asgi_app),
        "websocket": websocket_app(websocket_urlpatterns),
    }
)
