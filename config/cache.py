"""A Redis cache that treats an unreachable Redis as an empty cache, so the site keeps working while it is away.

Everything the app keeps in the cache can be recomputed or read from the
database: sessions (``cached_db`` reads the database on a miss), the
dashboard's figures, the review order, throttle counts. So a connection
error is logged and answered as a miss (reads), a refusal (``add``) or
nothing (writes), never turned into an error page. After a failure the
process skips Redis for ``RETRY_AFTER`` seconds, so a Redis that hangs
costs one timeout per process, not one per call (docs/operations.md,
"Redis down").

A write or delete that could not reach Redis leaves Redis holding an older
copy: a session ended by a logout would come back with Redis. So the
process remembers those keys and deletes them first thing once Redis
answers again; the next read then goes to the database, which has the
current state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# How long a process leaves Redis alone after a connection error.
RETRY_AFTER = 2.0
# Keys whose write or delete Redis missed, kept per process to delete on its
# return; past this many (a very long outage), the operator is told to empty
# the cache instead (docs/operations.md).
STALE_KEYS_KEPT = 100_000
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)

T = TypeVar("T")


class ForgivingRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` whose connection errors are misses."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._stale_keys: set[str] = set()

    def _guard(
        self, call: Callable[[], T], fallback: T, *, changes: Iterable[Any] = (), version: int | None = None
    ) -> T:
        """``call()``, or ``fallback`` when Redis is unreachable; ``changes``: the keys the call writes or deletes."""
        if time.monotonic() < self._down_until:
            self._remember_stale(changes, version)
            return fallback
        try:
            self._delete_stale()
            return call()
        except UNREACHABLE as error:
            self._remember_stale(changes, version)
            with self._lock:
                if time.monotonic() >= self._down_until:
                    logger.warning("The cache is unreachable (%s); answering from the database meanwhile", error)
                self._down_until = time.monotonic() + RETRY_AFTER
            return fallback

    def _remember_stale(self, keys: Iterable[Any], version: int | None) -> None:
        made = [self.make_and_validate_key(key, version=version) for key in keys]
        if not made:
            return
        with self._lock:
            if len(self._stale_keys) < STALE_KEYS_KEPT:
                self._stale_keys.update(made)
            elif made[0] not in self._stale_keys:
                logger.warning("Too many cache writes missed Redis to delete on its return; empty the cache database")

    def _delete_stale(self) -> None:
        """Delete the keys Redis missed a change of, now that it may answer; raises if it does not."""
        if not self._stale_keys:
            return
        with self._lock:
            stale, self._stale_keys = list(self._stale_keys), set()
        try:
            self._cache.delete_many(stale)
        except UNREACHABLE:
            with self._lock:
                self._stale_keys.update(stale)
            raise
        logger.info("Deleted %d cache keys whose change Redis missed while away", len(stale))

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._guard(lambda: super(ForgivingRedisCache, self).add(key, value, timeout, version), False)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._guard(lambda: super(ForgivingRedisCache, self).get(key, default, version), default)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._guard(
            lambda: super(ForgivingRedisCache, self).set(key, value, timeout, version),
            None,
            changes=[key],
            version=version,
        )

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._guard(lambda: super(ForgivingRedisCache, self).touch(key, timeout, version), False)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._guard(
            lambda: super(ForgivingRedisCache, self).delete(key, version), False, changes=[key], version=version
        )

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._guard(lambda: super(ForgivingRedisCache, self).get_many(keys, version), {})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._guard(lambda: super(ForgivingRedisCache, self).has_key(key, version), False)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # As if the key were new: a counter (a throttle) starts again rather than failing the request.
        # A missed increment is not remembered: deleting the counter later would only lower it more.
        return self._guard(lambda: super(ForgivingRedisCache, self).incr(key, delta, version), delta)

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        return self._guard(
            lambda: super(ForgivingRedisCache, self).set_many(data, timeout, version),
            list(data),
            changes=list(data),
            version=version,
        )

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._guard(
            lambda: super(ForgivingRedisCache, self).delete_many(keys, version), None, changes=keys, version=version
        )

    def clear(self) -> bool:
        return self._guard(lambda: super(ForgivingRedisCache, self).clear(), False)
