"""The fan-out's pre-built websocket frames (debates.live._text_frame / _write_frame).

Over real sockets the bench smoke test (tests/bench) shows every screen receiving them; here,
the framing at each length boundary and the cases that must fall back to daphne's own send.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from debates import live


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

    frame = parse(live._text_frame(text))

    assert frame.opcode is Opcode.TEXT
    assert frame.fin
    assert frame.data.decode() == text


def test_it_falls_back_to_daphne_without_a_daphne_protocol():
    assert live._write_frame(None, b"\x81\x00") is False


def test_it_falls_back_to_daphne_unless_the_socket_is_open():
    closing = SimpleNamespace(STATE_OPEN=1, state=2, transport=None)

    assert live._write_frame(closing, b"\x81\x00") is False


def test_it_falls_back_to_daphne_on_a_wrapping_transport_such_as_tls():
    wrapped = SimpleNamespace(STATE_OPEN=1, state=1, transport=object())

    assert live._write_frame(wrapped, b"\x81\x00") is False
