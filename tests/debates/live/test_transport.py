"""The fan-out's pre-built websocket frames (debates.live.transport: text_frame, write_fast).

Over real sockets tests/debates/live/test_transport_daphne.py shows the fast path on a real
daphne, and its fallback when Twisted changed; here, the framing at each length boundary and the
cases that must fall back to daphne's own send.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from twisted.internet.tcp import Connection
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from debates.live import transport


def parse(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("length", [0, 125, 126, 65535, 65536, 70000])
def test_a_frame_is_one_unmasked_final_text_frame_a_browser_reads(length):
    text = "é" * (length // 2) + "x" * (length % 2)

    frame = parse(transport.text_frame(text))

    assert frame.opcode is Opcode.TEXT
    assert frame.fin
    assert frame.data.decode() == text


def test_it_falls_back_to_daphne_without_a_daphne_protocol():
    assert transport.write_fast(None, b"\x81\x00") is False


def test_it_falls_back_to_daphne_unless_the_socket_is_open():
    closing = SimpleNamespace(STATE_OPEN=1, state=2, transport=None)

    assert transport.write_fast(closing, b"\x81\x00") is False


def test_it_falls_back_to_daphne_on_a_wrapping_transport_such_as_tls():
    wrapped = SimpleNamespace(STATE_OPEN=1, state=1, transport=object())

    assert transport.write_fast(wrapped, b"\x81\x00") is False


def test_the_check_turns_the_fast_path_off_when_twisted_renamed_an_attribute(fast_path_on):
    monkey = SimpleNamespace(STATE_OPEN=1, state=1, transport=RenamedTransport())

    assert transport.fast_path_check(monkey) is False

    assert transport.stats()["fast_path"] == "off"


def test_bench_frames_builds_its_frames_with_the_transports_builder():
    from bench import frames

    assert frames.frame is transport.text_frame


class Consumer:
    """What send_frame uses of a consumer: its scope and daphne's send (base_send)."""

    def __init__(self, protocol) -> None:
        self.scope = {transport.DAPHNE_PROTOCOL: protocol}
        self.sent: list[dict] = []

    async def base_send(self, message: dict) -> None:
        self.sent.append(message)


class RenamedTransport(Connection):
    """Twisted's TCP transport as a release that renamed its write buffer would have it: made
    without __init__, it has no `_tempDataBuffer` (nor a socket)."""

    def __init__(self) -> None:
        pass


@pytest.fixture
def fast_path_on(monkeypatch):
    """The fast path as a daphne process has it after a good check; restored afterwards."""
    for name, value in (("fast_path", "on"), ("fast_path_off_because", ""), ("frames_fallback", 0)):
        monkeypatch.setattr(transport.FAST_PATH, name, value)


async def test_a_fast_write_that_fails_falls_back_to_daphne_warns_once_and_counts(
    fast_path_on, caplog
):
    protocol = SimpleNamespace(STATE_OPEN=1, state=1, transport=RenamedTransport())
    consumer = Consumer(protocol)
    message = {"type": "websocket.send", "text": "{}"}

    with caplog.at_level("WARNING", logger="debates.live.transport"):
        for _ in range(3):
            await transport.send_frame(consumer, transport.text_frame("{}"), message)

    assert consumer.sent == [message] * 3  # nothing dropped
    stats = transport.stats()
    assert stats["fast_path"] == "off" and stats["frames_fallback"] == 3
    assert "_tempDataBuffer" in stats["fast_path_off_because"]
    assert [r.levelname for r in caplog.records] == ["WARNING"]


async def test_a_frame_outside_daphne_goes_through_daphne_send_and_is_not_a_fallback(
    fast_path_on,
):
    consumer = Consumer(None)
    message = {"type": "websocket.send", "text": "{}"}

    await transport.send_frame(consumer, transport.text_frame("{}"), message)

    assert consumer.sent == [message]
    assert transport.stats()["frames_fallback"] == 0
