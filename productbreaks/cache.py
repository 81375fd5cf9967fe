"""One Redis connection pool per process for Django's cache (sessions, the join budget, the
wrong-code throttle, the page-level limits).

Django keeps a cache backend per async context (`caches` is an asgiref Local), so under daphne
every request and every socket connect built a new RedisCache, a new redis-py ConnectionPool
and a new TCP connection to Redis, with its handshake and health check: 7 % of a cluster
process's CPU while a room joins (py-spy of `bench.run joincost --cluster`, BENCHMARKS.md,
issue 14), and a connection to Redis per request. Django's documented OPTIONS["pool_class"]
names this class; redis-py's pools are thread-safe, so every backend of the process shares
the one made for its server and options.
"""

from __future__ import annotations

import threading
from typing import Any

import redis

# Options that differ between two otherwise identical backends (a new object each time).
_PER_CLIENT = frozenset({"driver_info", "lib_name"})


class SharedConnectionPool(redis.ConnectionPool):
    _shared: dict[tuple, redis.ConnectionPool] = {}
    _lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> redis.ConnectionPool:
        key = (url, tuple(sorted((k, repr(v)) for k, v in kwargs.items() if k not in _PER_CLIENT)))
        with cls._lock:
            pool = cls._shared.get(key)
            if pool is None:
                pool = cls._shared[key] = super().from_url(url, **kwargs)
            return pool
