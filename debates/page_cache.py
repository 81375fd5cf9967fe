"""The front door's pages, rendered once for everyone who sees the same thing.

When a room joins at once, a thousand phones ask for the same join form and the same event page
within seconds; rendering Django templates was most of their cost (bench.joincost). Here a page
is rendered once per key and, for a couple of seconds, served from this process's memory to
everyone with that key, after putting back what is theirs alone:

- the CSRF token (each request gets its own, `get_token`: the form and htmx's header post as
  before), and the CSP nonce (`get_nonce`: the header and the page's scripts agree);
- the attendee's name ("You are taking part as ...", the rename form's value), escaped;
  whether they gave one at all is part of the key;
- the page's own path (`language_next`: where the footer's language switch returns to), since
  people who share a key may have come by different links (a QR link's token).

Everything else a page shows must be in the key: the caller's key (event, phase, polls and
their versions, the person's own votes), plus the template, the language, the host and scheme
the links are built from, and whether someone is logged in (the header's links). A request
with pending messages, or from htmx, is rendered as usual. A change shows within CACHE_SECONDS
at most, as on the stage the sockets get (debates.realtime.stage_html); the sockets push every
change anyway.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from types import SimpleNamespace
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csp import get_nonce
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape

CACHE_SECONDS = 2.0
CACHE_ENTRIES = 512  # least recently used first out; a key is small, a page a few KB

# Stand-ins rendered into the shared page, replaced per request. Letters, digits and dashes
# only: HTML escaping leaves them as they are, so they survive any filter or attribute.
CSRF_MARK = "pb-page-cache-csrf-5f0c2a"
NONCE_MARK = "pb-page-cache-nonce-5f0c2a"
NAME_MARK = "pb-page-cache-name-5f0c2a"  # attendee.public_name
GIVEN_NAME_MARK = "pb-page-cache-given-name-5f0c2a"  # attendee.display_name
NEXT_MARK = "pb-page-cache-next-5f0c2a"  # request.get_full_path(), base.html's language_next


def _piece_mark(name: str) -> str:
    return f"pb-page-cache-piece-{name.replace('_', '-')}-5f0c2a"


_pages: OrderedDict[Hashable, tuple[float, str]] = OrderedDict()


def clear() -> None:
    _pages.clear()


def _personal(request: HttpRequest) -> bool:
    """Something on this page is for this request alone and not in any key: render it."""
    if getattr(request, "htmx", False):
        return True
    session = getattr(request, "session", None)
    return "messages" in request.COOKIES or (session is not None and "_messages" in session)


def render_shared(
    request: HttpRequest,
    template_name: str,
    context: Mapping[str, Any],
    *,
    key: Hashable,
    attendee: Any = None,
    status: int = 200,
    pieces: Mapping[str, str] | None = None,
) -> HttpResponse:
    """`render(request, template_name, context)`, shared by everyone with the same key.

    `attendee`, if given, is the context's attendee: the template gets a stand-in, and may read
    of it only whether it is there, `public_name` and `display_name`. `pieces` are context
    variables of HTML already rendered for this request (the person's own panels): the shared
    page holds a stand-in for each, replaced by this request's HTML.
    """
    pieces = pieces or {}
    if _personal(request):
        return render(request, template_name, {**context, **pieces}, status=status)
    full_key = (
        template_name,
        key,
        translation.get_language(),
        request.get_host(),
        request.is_secure(),
        request.user.is_authenticated,
        attendee is not None,
        bool(attendee.display_name) if attendee is not None else None,
    )
    now = time.monotonic()
    cached = _pages.get(full_key)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        _pages.move_to_end(full_key)
        html = cached[1]
    else:
        shared = {**context, "csrf_token": CSRF_MARK, "csp_nonce": NONCE_MARK}
        shared["language_next"] = NEXT_MARK
        shared |= {name: _piece_mark(name) for name in pieces}
        if attendee is not None:
            given = GIVEN_NAME_MARK if attendee.display_name else ""
            shared["attendee"] = SimpleNamespace(public_name=NAME_MARK, display_name=given)
        html = render_to_string(template_name, shared, request=request)
        _pages[full_key] = (now, html)
        _pages.move_to_end(full_key)
        while len(_pages) > CACHE_ENTRIES:
            _pages.popitem(last=False)
    # Django's lazy nonce is false until read: str() makes it, and the CSP header then names it.
    nonce = get_nonce(request)  # None only without Django's CSP middleware
    nonce_text = str(nonce) if nonce is not None else ""
    html = html.replace(CSRF_MARK, get_token(request)).replace(NONCE_MARK, nonce_text)
    html = html.replace(NEXT_MARK, escape(request.get_full_path()))
    if attendee is not None:
        html = html.replace(NAME_MARK, escape(attendee.public_name))
        html = html.replace(GIVEN_NAME_MARK, escape(attendee.display_name))
    # Last: a piece is this request's own HTML, and may hold text that looks like a mark.
    for name, piece in pieces.items():
        html = html.replace(_piece_mark(name), piece, 1)
    return HttpResponse(html, status=status)
