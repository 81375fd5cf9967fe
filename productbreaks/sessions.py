"""Sessions read through the cache and written to the database, surviving a cache outage.

Django's `cached_db` engine reads a session from the cache (the process's memory, or Redis with
REDIS_URL) and falls back to the database, so pages and sockets read no django_session row (a
quarter of a socket storm's CPU: BENCHMARKS.md, issue 14). But while Redis restarts, its
`exists` (asked when a new session key is made: every first join) and `delete` let the cache's
error through, and a join answered 500 (tests/faults/test_redis_restart.py), as does `load`
when it refills the cache. Here those, and `save`, fall back to the database and log a WARNING: a session always lives in the
database, the cache only spares the reads.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.sessions.backends import cached_db, db
from django.core.cache import caches

log = logging.getLogger(__name__)


class SessionStore(cached_db.SessionStore):
    # The cache by its public name, not the parent's `_cache`: third-party internals are read in
    # one module only (tests/test_architecture.py).
    @property
    def cache(self):
        return caches[settings.SESSION_CACHE_ALIAS]

    def load(self) -> dict:
        try:
            return super().load()  # it catches a failed read, not a failed refill of the cache
        except Exception:
            log.warning("sessions: the cache is unreachable; reading the database")
            return db.SessionStore.load(self)

    def exists(self, session_key: str | None) -> bool:
        if not session_key:
            return False
        try:
            if self.cache_key_prefix + session_key in self.cache:
                return True
        except Exception:
            log.warning("sessions: the cache is unreachable; asking the database")
        return db.SessionStore.exists(self, session_key)

    def save(self, must_create: bool = False) -> None:
        db.SessionStore.save(self, must_create)
        try:
            self.cache.set(self.cache_key, dict(self.items()), self.get_expiry_age())
        except Exception:
            log.warning("sessions: the cache is unreachable; the session is in the database")

    def delete(self, session_key: str | None = None) -> None:
        db.SessionStore.delete(self, session_key)
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        try:
            self.cache.delete(self.cache_key_prefix + session_key)
        except Exception:
            # Deleted from the database; a cache that comes back with its old copy would still
            # serve it until it expires (SECURITY.md, known gaps).
            log.warning("sessions: the cache is unreachable; a deleted session may linger there")
