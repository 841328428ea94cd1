"""A Redis cache that treats an unreachable Redis as an empty cache, so the site keeps working while it is away.

Everything the app keeps in the cache can be recomputed or read from the
database: sessions (``cached_db`` reads the database on a miss), the
dashboard's figures, the review order, throttle counts. So a connection
error is logged and answered as a miss (reads), a refusal (``add``) or
nothing (writes), never turned into an error page. After a failure the
process skips Redis for ``RETRY_AFTER`` seconds, so a Redis that hangs
costs one timeout per process, not one per call (docs/operations.md,
"Redis down").
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# How long a process leaves Redis alone after a connection error.
RETRY_AFTER = 2.0
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)

T = TypeVar("T")


class ForgivingRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` whose connection errors are misses."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _guard(self, call: Callable[[], T], fallback: T) -> T:
        if time.monotonic() < self._down_until:
            return fallback
        try:
            return call()
        except UNREACHABLE as error:
            with self._lock:
                if time.monotonic() >= self._down_until:
                    logger.warning("The cache is unreachable (%s); answering from the database meanwhile", error)
                self._down_until = time.monotonic() + RETRY_AFTER
            return fallback

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._guard(lambda: super(ForgivingRedisCache, self).add(key, value, timeout, version), False)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._guard(lambda: super(ForgivingRedisCache, self).get(key, default, version), default)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._guard(lambda: super(ForgivingRedisCache, self).set(key, value, timeout, version), None)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._guard(lambda: super(ForgivingRedisCache, self).touch(key, timeout, version), False)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._guard(lambda: super(ForgivingRedisCache, self).delete(key, version), False)

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._guard(lambda: super(ForgivingRedisCache, self).get_many(keys, version), {})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._guard(lambda: super(ForgivingRedisCache, self).has_key(key, version), False)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # As if the key were new: a counter (a throttle) starts again rather than failing the request.
        return self._guard(lambda: super(ForgivingRedisCache, self).incr(key, delta, version), delta)

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        return self._guard(lambda: super(ForgivingRedisCache, self).set_many(data, timeout, version), list(data))

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._guard(lambda: super(ForgivingRedisCache, self).delete_many(keys, version), None)

    def clear(self) -> bool:
        return self._guard(lambda: super(ForgivingRedisCache, self).clear(), False)
