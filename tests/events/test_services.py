from __future__ import annotations

import pytest

from events.services import (
    JOIN_CODE_ALPHABET,
    join_code_display,
    join_code_generate,
    join_code_normalise,
)
from tests.conftest import make_event


def test_join_codes_avoid_look_alike_letters():
    codes = {join_code_generate() for _ in range(500)}
    assert all(len(code) == 6 and set(code) <= set(JOIN_CODE_ALPHABET) for code in codes)
    assert not set("ILOU") & set("".join(codes))


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("k7m2qx", "K7M2QX"),
        (" k7m-2qx ", "K7M2QX"),
        ("SPRINT", "SPR1NT"),
        ("spr lnt", "SPR1NT"),
        ("R0MP42", "R0MP42"),
        ("ROMP42", "R0MP42"),
    ],
)
def test_it_reads_a_typed_code_the_way_it_was_meant(typed, meant):
    assert join_code_normalise(typed) == meant


def test_codes_are_shown_in_two_halves():
    assert join_code_display("K7M2QX") == "K7M-2QX"


@pytest.mark.django_db
def test_each_event_gets_its_own_code_slug_and_host_key(organiser):
    a = make_event(organiser, title="Same title")
    b = make_event(organiser, title="Same title")
    assert a.join_code != b.join_code
    assert a.slug == "same-title" and b.slug == "same-title-2"
    assert a.host_key != b.host_key and len(a.host_key) >= 32
