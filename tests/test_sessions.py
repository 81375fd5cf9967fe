"""productbreaks/sessions.py: sessions are read through the cache and live in the database, so a
cache outage (Redis restarting) costs reads, never a join or a logout."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session

from productbreaks.sessions import SessionStore

pytestmark = pytest.mark.django_db


class DownCache:
    """A cache whose server is gone: every call raises, as django-redis's client does."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("Connection refused")

        return fail

    def __contains__(self, key):
        raise ConnectionError("Connection refused")


def test_a_session_is_read_from_the_cache_without_touching_the_database(
    django_assert_num_queries,
):
    session = SessionStore()
    session["attendees"] = {"1": "token"}
    session.save()
    again = SessionStore(session.session_key)
    with django_assert_num_queries(0):
        assert again["attendees"] == {"1": "token"}


def test_the_first_of_a_big_room_is_still_read_from_the_cache_after_everyone_joined(
    django_assert_num_queries, settings
):
    """The embedded cache (one process, no Redis) holds a whole room's sessions: LocMemCache's
    default of 300 entries evicted a third of them at a time, and their reads went to the
    database (issue 14)."""
    from django.core.cache import caches

    from productbreaks import settings as project

    settings.CACHES = project.EMBEDDED_CACHES  # what `make run` has, whatever this process has
    caches["default"].clear()
    first = SessionStore()
    first["attendees"] = {"1": "first"}
    first.save()
    for n in range(2_000):
        caches["default"].set(f"someone-else-{n}", {"attendees": {"1": str(n)}})
    with django_assert_num_queries(0):
        assert SessionStore(first.session_key)["attendees"] == {"1": "first"}


def test_with_the_cache_down_a_session_is_made_saved_read_and_deleted_in_the_database(caplog):
    session = SessionStore()
    session._cache = DownCache()
    session["attendees"] = {"1": "token"}
    session.save()  # a new key: `exists` asks the cache first, then the database
    key = session.session_key
    assert Session.objects.filter(session_key=key).exists()
    reader = SessionStore(key)
    reader._cache = DownCache()
    assert reader["attendees"] == {"1": "token"}
    reader.delete()
    assert not Session.objects.filter(session_key=key).exists()
    assert "the cache is unreachable" in caplog.text
    assert all(record.levelname == "WARNING" for record in caplog.records)
