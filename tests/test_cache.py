"""productbreaks/cache.py: every cache backend of a process shares one Redis connection pool.
Django makes a backend per async context, so before this each request of daphne opened its own
connection to Redis (issue 14)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis
from django.core.cache import caches

from productbreaks import settings as project


@pytest.mark.services
def test_requests_in_their_own_contexts_share_one_redis_connection(redis_url, settings):
    name = f"pool-check-{uuid.uuid4().hex[:8]}"  # this test's connections, by name
    options = {**project.REDIS_CACHE_OPTIONS, "client_name": name}  # the cluster's options
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "OPTIONS": options,
        }
    }
    probe = redis.Redis.from_url(redis_url)

    async def a_request(n: int) -> object:
        # What a view does: the backend of this context (a new one each time, as in daphne).
        backend = caches["default"]
        backend.set(f"pool-check-{n}", n)
        assert backend.get(f"pool-check-{n}") == n
        return backend

    backends = [asyncio.run(a_request(n)) for n in range(30)]  # all kept alive
    assert len({id(b) for b in backends}) > 1  # Django did make a backend per context
    ours = [c for c in probe.client_list() if c.get("name") == name]
    assert len(ours) == 1, f"{len(ours)} connections open for 30 requests"
