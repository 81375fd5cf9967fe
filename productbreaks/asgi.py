"""ASGI entry point: HTTP through Django, websockets through Channels."""

from __future__ import annotations

import os

import django
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "productbreaks.settings")

# Django must be set up before the consumers (and their models) are imported.
django.setup(set_prefix=False)


class OneDatabaseThreadASGIHandler(ASGIHandler):
    """Django's handler without its per-request thread: on SQLite every request's ORM work runs
    on the process's one database thread (the thread the consumers' database_sync_to_async
    calls use) over one persistent connection (CONN_MAX_AGE in settings).

    Django gives each request its own thread and, with it, a new SQLite connection that runs
    the WAL pragmas and is closed at the end. SQLite takes one writer at a time anyway, so those
    threads only queue on its lock: in a join storm daphne ran thousands of threads and spent
    about 30 ms of CPU per attendee joining, against 18 ms on one thread (bench/, 1,000 joins).
    """

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)


from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from debates.live import daphne_protocol_middleware  # noqa: E402
from debates.routing import websocket_urlpatterns  # noqa: E402
from productbreaks.origins import SameOriginValidator  # noqa: E402

# Static files: WhiteNoise's middleware when SERVE_STATIC (settings), nginx behind deploy/.
django_asgi_app = OneDatabaseThreadASGIHandler() if settings.SQLITE else ASGIHandler()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Only our own pages' origin, scheme, host and port (productbreaks/origins.py).
        "websocket": daphne_protocol_middleware(
            SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
