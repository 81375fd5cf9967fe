"""The websocket's Origin check: a socket is opened by our own pages, or not at all.

A page of another site can open a websocket to us, and the browser sends our cookies with it
(there is no CORS on websockets): the Origin header is what tells our pages from theirs.
Channels' AllowedHostsOriginValidator compares host names only, so it let through any scheme
and any port of an allowed host (`http://debates.example.org` or `https://debates.example.org:8443`
to a site served at `https://debates.example.org`). This compares the whole origin, scheme, host
and port, the way Django's CSRF check does for a POST (CsrfViewMiddleware._origin_verified):

- `{https if settings.HTTPS else http}://{Host header}`, when that host is allowed by
  ALLOWED_HOSTS (Django's own split_domain_port and validate_host; with DEBUG and no
  ALLOWED_HOSTS, Django's local defaults);
- any exact entry of CSRF_TRUSTED_ORIGINS;
- an entry of the form `https://*.example.org`: that scheme, example.org and its subdomains
  (and the port as written, none if none).

Anything else is denied: no Origin header (a script, not a browser page; Channels refuses it
too), an empty one, `null`, more than one, or a malformed one. A denied handshake is closed
before it is accepted, as Channels does it, which daphne answers with HTTP 403.

USE_X_FORWARDED_HOST is not consulted: behind the proxy in deploy/ the Host header is the
site's host (nginx sets it), so the origin a browser sends there matches. nginx's `$host` has no
port: a site served on a port other than 443 lists its origin in CSRF_TRUSTED_ORIGINS (Django's
CSRF check for POSTs needs the same).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

log = logging.getLogger(__name__)

DEBUG_HOSTS = [".localhost", "127.0.0.1", "[::1]"]  # Django's get_host with DEBUG and no hosts


def _headers(scope: dict[str, Any], name: bytes) -> list[str]:
    return [value.decode("latin1") for key, value in scope.get("headers", ()) if key == name]


def own_origin(host: str) -> str | None:
    """The origin of our own pages served under this Host header, or None if it is not ours."""
    allowed = settings.ALLOWED_HOSTS or (DEBUG_HOSTS if settings.DEBUG else [])
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, allowed):
        return None
    return f"{'https' if settings.HTTPS else 'http'}://{host}"


def origin_allowed(origin: str, host: str | None) -> bool:
    """Whether a handshake with this Origin, sent to this Host, comes from one of our pages."""
    if host is not None and origin == own_origin(host):
        return True
    trusted = settings.CSRF_TRUSTED_ORIGINS
    if origin in (entry for entry in trusted if "*" not in entry):
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    for entry in trusted:
        if "*" in entry:
            pattern = urlsplit(entry)
            if parsed.scheme == pattern.scheme and is_same_domain(
                parsed.netloc, pattern.netloc.lstrip("*")
            ):
                return True
    return False


class SameOriginValidator:
    """ASGI middleware for websockets: passes a handshake from our own origin, denies the rest."""

    def __init__(self, application: Callable) -> None:
        self.application = application

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator is for websocket connections only.")
        origins, hosts = _headers(scope, b"origin"), _headers(scope, b"host")
        host = hosts[0] if len(hosts) == 1 else None
        if len(origins) == 1 and origins[0] and origin_allowed(origins[0], host):
            return await self.application(scope, receive, send)
        log.warning("Websocket refused: Origin %r is not ours (Host %r)", origins, host)
        return await WebsocketDenier()(scope, receive, send)
