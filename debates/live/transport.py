"""Every third-party internal the realtime code relies on, in one place, checked and loud.

Nothing else in the project reads a private attribute of Twisted, daphne, asgiref or Django, or
patches their objects. What is read here, and what happens when it changes:

- daphne calls the application with `send=partial(server.handle_reply, protocol)`;
  `daphne_protocol_middleware` keeps `send.args[0]` (daphne's protocol) in the scope.
- Twisted's `tcp.Connection` with its write buffers `dataBuffer` and `_tempDataBuffer` and its
  `socket`: the fan-out's fast path (`send_frame`) writes a pre-built frame to the kernel.
- daphne's (autobahn's) `onMessage`, `serverClose` and Twisted's `pauseProducing`: the frame
  budget (`frames_guard`) counts frames as they arrive, before daphne queues them.
- asgiref's `SyncToAsync.threadlocal.main_event_loop`: the loop a sync view was called from
  (`main_event_loop`), where broadcasts announced from a view are handed to the hub.
- Django's `ASGIHandler.__call__`, copied without its per-request thread
  (`OneDatabaseThreadASGIHandler`, for SQLite), and its `run_get_response` with a sync chain
  of `BaseHandler.load_middleware(is_async=False)` beside it (`OneHopASGIHandler`); Channels'
  `AsyncConsumer.__call__`, copied without its per-message Task (`consume`, for a consumer
  without a channel layer).

The fast path (why: BENCHMARKS.md, `python -m bench.frames`)
    A fan-out frame through daphne's send costs ~40-90 us per socket: daphne's reply handling,
    autobahn's framing, and Twisted registering the socket with epoll for writing and
    unregistering it after every frame. Built once (`text_frame`) and handed to the kernel with
    socket.send it costs ~11 us. Only for daphne's plain TCP/unix transports, only while the
    socket is open, and never ahead of bytes Twisted still holds (that would reorder frames).
    At the first socket daphne serves, `fast_path_check` checks that daphne's protocol and
    Twisted's transport still have what the fast path reads (pyproject.toml pins the Twisted
    range it was written for). If not, or if a fast write ever fails in a way it should not,
    the fast path turns off for the process with a WARNING in the log, and every frame goes
    through daphne's own send: nothing is dropped. `stats()` (shown on the host console's
    presence panel) says whether the fast path is on and how many frames took the fallback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.http import FileResponse
from django.urls import Resolver404, resolve

from productbreaks import overload

log = logging.getLogger(__name__)

DAPHNE_PROTOCOL = "productbreaks.daphne_protocol"  # scope key: daphne's protocol of the socket

_lock = threading.Lock()


@dataclass
class FastPath:
    """This process's fast path, as `stats()` reports it."""

    fast_path: str = "unchecked"  # until a socket through daphne; then "on", or "off"
    fast_path_off_because: str = ""
    frames_fast: int = 0  # fan-out frames and vote answers written straight to the socket
    frames_fallback: int = 0  # frames sent through daphne because the fast path is off


FAST_PATH = FastPath()


def stats() -> dict[str, Any]:
    """This process's fast path: "unchecked" (no socket through daphne yet), "on" or "off",
    why it is off, and the frames sent each way since the process started."""
    with _lock:
        return asdict(FAST_PATH)


def text_frame(text: str) -> bytes:
    """An unmasked, unfragmented server-to-client text frame (RFC 6455 section 5.2)."""
    data = text.encode()
    n = len(data)
    if n < 126:
        return bytes((0x81, n)) + data
    if n < 65536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + data
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + data


# ---------------------------------------------------------------- daphne's protocol


def _is_daphne(send: Callable) -> bool:
    func = getattr(send, "func", send)
    return getattr(func, "__module__", "").startswith("daphne.")


def daphne_protocol(send: Callable) -> Any:
    """daphne's protocol object behind an ASGI `send`, or None (not daphne, or daphne changed:
    then the fast path is turned off, loudly)."""
    if isinstance(send, partial) and send.args and hasattr(send.args[0], "STATE_OPEN"):
        return send.args[0]
    if _is_daphne(send):
        _fast_path_off("daphne's send no longer carries its protocol (send.args[0])")
    return None


def daphne_protocol_middleware(app: Callable) -> Callable:
    """Outermost on websockets: keeps daphne's protocol in the scope (DAPHNE_PROTOCOL) for the
    fast path and the frame budget, and checks the fast path at the first socket."""

    async def middleware(scope: dict, receive: Callable, send: Callable) -> None:
        protocol = daphne_protocol(send)
        if protocol is not None:
            if FAST_PATH.fast_path == "unchecked":
                fast_path_check(protocol)
            scope = {**scope, DAPHNE_PROTOCOL: protocol}
        return await app(scope, receive, send)

    return middleware


# ---------------------------------------------------------------- the fast path


def _tcp_connection_class() -> type | None:
    try:
        from twisted.internet.tcp import Connection
    except ImportError:
        return None
    return Connection


def fast_path_check(protocol: Any) -> bool:
    """Whether daphne's protocol and Twisted's transport have what `write_fast` reads, with the
    types it expects. Turns the fast path on, or off with a WARNING. A transport that is not
    plain TCP (TLS) cannot be judged: the check waits for the next socket."""
    connection = _tcp_connection_class()
    if connection is None:
        return _fast_path_off("twisted.internet.tcp.Connection is gone")
    state = getattr(protocol, "state", None)
    if state is None or getattr(protocol, "STATE_OPEN", None) is None:
        return _fast_path_off("daphne's protocol has no state or STATE_OPEN")
    transport = getattr(protocol, "transport", None)
    if not isinstance(transport, connection):
        return False
    checks = {
        "dataBuffer": lambda t: isinstance(t.dataBuffer, bytes | memoryview | bytearray),
        "_tempDataBuffer": lambda t: isinstance(t._tempDataBuffer, list),
        "disconnecting": lambda t: isinstance(t.disconnecting, bool | int),
        "socket.send": lambda t: callable(t.socket.send),
        "write": lambda t: callable(t.write),
    }
    for name, check in checks.items():
        try:
            ok = check(transport)
        except AttributeError:
            ok = False
        if not ok:
            return _fast_path_off(f"Twisted's transport has no usable {name}")
    with _lock:
        if FAST_PATH.fast_path == "unchecked":
            FAST_PATH.fast_path = "on"
    return True


def _fast_path_off(reason: str) -> bool:
    with _lock:
        if FAST_PATH.fast_path == "off":
            return False
        FAST_PATH.fast_path = "off"
        FAST_PATH.fast_path_off_because = reason
    log.warning(
        "live: the socket fast path is off (%s); every frame now goes through daphne's send. "
        "Check the Twisted and daphne versions against pyproject.toml.",
        reason,
    )
    return False


def write_fast(protocol: Any, frame: bytes) -> bool:
    """Writes the frame to daphne's socket; False: not possible here (use daphne's send).

    Every attribute is read before a byte is written, so an AttributeError (Twisted or daphne
    changed) leaves nothing half-sent and the caller falls back to daphne's send.
    """
    if protocol is None or protocol.state != protocol.STATE_OPEN:
        return False
    transport = protocol.transport
    # TLS (or any wrapping transport) must go through Twisted.
    if not isinstance(transport, _tcp_connection_class()) or transport.disconnecting:
        return False
    if transport.dataBuffer or transport._tempDataBuffer:
        transport.write(frame)  # behind what is queued, in order
        return True
    send = transport.socket.send
    try:
        sent = send(frame)
    except BlockingIOError:
        sent = 0
    except OSError:
        return False
    if sent < len(frame):
        transport.write(frame[sent:])
    return True


async def send_frame(consumer: Any, frame: bytes, message: dict[str, Any]) -> None:
    """One fan-out frame to one socket: straight to its kernel buffer when the fast path is on
    and applies, else `message` (the same text) through daphne's send (`consumer.base_send`).
    Raises what daphne's send raises (a closed socket)."""
    protocol = consumer.scope.get(DAPHNE_PROTOCOL)
    if protocol is not None and FAST_PATH.fast_path == "on":
        try:
            written = write_fast(protocol, frame)
        except Exception as exc:  # a changed internal: fall back, never drop
            _fast_path_off(f"a fast write failed: {exc!r}")
            written = False
        if written:
            FAST_PATH.frames_fast += 1
            return
    if protocol is not None and FAST_PATH.fast_path == "off":
        FAST_PATH.frames_fallback += 1
    await consumer.base_send(message)


# ---------------------------------------------------------------- the frame budget's guard


def frames_guard(scope: dict, spend: Callable[[], bool], *, close_code: int) -> bool:
    """Calls `spend()` for every frame daphne receives on this socket, before it is queued for
    the consumer (debates.live.budget says why); when it returns False the socket is closed with
    `close_code` and nothing more is read. False when there is no daphne protocol to guard (the
    consumer then spends the budget itself)."""
    protocol = scope.get(DAPHNE_PROTOCOL)
    if protocol is None:
        return False
    transport = getattr(protocol, "transport", None)
    deliver = getattr(protocol, "onMessage", None)
    close = getattr(protocol, "serverClose", None)
    if transport is None or deliver is None or close is None:
        _guard_off_once()
        return False
    spent_out = False

    def on_message(payload: bytes, is_binary: bool) -> None:
        nonlocal spent_out
        if spent_out:
            return  # the close is decided: not queued, not parsed as JSON, not answered
        if spend():
            deliver(payload, is_binary)
            return
        spent_out = True
        close(code=close_code)  # the close frame goes out...
        transport.pauseProducing()  # ...and nothing more is read (Twisted's IPushProducer)

    protocol.onMessage = on_message
    return True


_guard_warned = False


def _guard_off_once() -> None:
    global _guard_warned
    if not _guard_warned:
        _guard_warned = True
        log.warning(
            "live: daphne's protocol has no onMessage/serverClose/transport; frames are counted "
            "in the consumer instead, after daphne has queued them"
        )


# ---------------------------------------------------------------- asgiref and Django


def main_event_loop() -> Any:
    """The event loop that called the current sync thread through sync_to_async (a Django view
    under daphne), or None."""
    threadlocal = getattr(_sync_to_async(), "threadlocal", None)
    if threadlocal is None:
        _loop_lookup_off_once()
        return None
    return getattr(threadlocal, "main_event_loop", None)


def _sync_to_async() -> type:
    from asgiref.sync import SyncToAsync

    return SyncToAsync


_loop_warned = False


def _loop_lookup_off_once() -> None:
    global _loop_warned
    if not _loop_warned:
        _loop_warned = True
        log.warning(
            "live: asgiref's SyncToAsync.threadlocal is gone; a broadcast from a view reaches "
            "this process's sockets only once a socket has started the hub"
        )


def _view_is_async(path: str) -> bool:
    try:
        return iscoroutinefunction(resolve(path).func)
    except Resolver404:
        return False


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler, with a sync view's whole middleware chain in ONE thread hop.

    Under ASGI Django runs the middleware chain in async mode, and each sync-and-async
    middleware (all of Django's) runs its process_request and process_response through
    sync_to_async: about a dozen thread round trips per page before the view's own. In a join
    storm every one of them waits its turn behind the others on the one database thread, and
    each costs CPU (bench.joincost). Here a sync view gets the chain WSGI would run, built once
    by Django itself (`load_middleware(is_async=False)`), called in one hop; an async view (the
    front door's, which sleep their turn on the loop) keeps Django's async chain.

    `run_get_response` is Django's (6.1) internal; at import, if it or `load_middleware`'s
    `is_async` is gone, a WARNING says so and every request takes Django's own way.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sync_chain: BaseHandler | None = None
        if not ONE_HOP_CHECK:
            return
        chain = BaseHandler()
        chain.load_middleware(is_async=False)
        self.sync_chain = chain

    async def run_get_response(self, request):
        chain = self.sync_chain
        if chain is None or _view_is_async(request.path_info):
            return await super().run_get_response(request)
        # Recording how long the page waited for the database thread: the overload guard's signal.
        response = await overload.on_database_thread(chain.get_response)(request)
        # What Django's run_get_response does to the response, the same way.
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response


def _one_hop_check() -> bool:
    import inspect

    ok = callable(getattr(ASGIHandler, "run_get_response", None)) and (
        "is_async" in inspect.signature(BaseHandler.load_middleware).parameters
    )
    if not ok:
        log.warning(
            "live: Django's ASGIHandler.run_get_response or load_middleware(is_async=) changed; "
            "pages take Django's own async middleware chain (slower, still correct)"
        )
    return ok


ONE_HOP_CHECK = _one_hop_check()


# ---------------------------------------------------------------- Channels' consumer loop


async def consume(consumer: Any, scope: dict, receive: Callable, send: Callable) -> bool:
    """Runs an async Channels consumer that has no channel layer, one message at a time: what
    `AsyncConsumer.__call__` does (scope, channel_layer, base_send, dispatch until StopConsumer),
    without `await_many_dispatch`, which makes a Task and an `asyncio.wait` for every message
    to watch a second source that a consumer without a layer does not have. At 2,000 votes a
    second that was a measurable share of the loop (BENCHMARKS.md, issue 14).

    False, having done nothing, when the consumer has a channel layer (bench/baseline.py's):
    then Channels' own `__call__` must run."""
    from channels.exceptions import StopConsumer
    from channels.layers import get_channel_layer

    if get_channel_layer(consumer.channel_layer_alias) is not None:
        return False
    consumer.scope = scope
    consumer.channel_layer = None
    consumer.base_send = send
    try:
        while True:
            await consumer.dispatch(await receive())
    except StopConsumer:
        pass
    return True


class OneDatabaseThreadASGIHandler(OneHopASGIHandler):
    """Django's handler without its per-request thread: on SQLite every request's ORM work runs
    on the process's one database thread (the thread the consumers' database_sync_to_async
    calls use) over one persistent connection (CONN_MAX_AGE in settings).

    Django gives each request its own thread and, with it, a new SQLite connection that runs
    the WAL pragmas and is closed at the end. SQLite takes one writer at a time anyway, so those
    threads only queue on its lock: in a join storm daphne ran thousands of threads and spent
    about 30 ms of CPU per attendee joining, against 18 ms on one thread (bench/, 1,000 joins).
    This is Django's `__call__` without its `ThreadSensitiveContext`.
    """

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)
