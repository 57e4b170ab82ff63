"""An LRU cache that a worker's threads (and greenlets) share."""

import threading
from collections.abc import Callable, Hashable
from typing import Any

from cachetools import LRUCache


class SharedLRU:
    """cachetools' LRUCache behind a lock. `maxsize` counts entries, or whatever `getsizeof`
    measures them in; a size of 0 keeps nothing, and an entry larger than the whole cache
    is not kept."""

    def __init__(self, maxsize: int, getsizeof: Callable[[Any], int] | None = None):
        self._entries = LRUCache(maxsize=max(maxsize, 1), getsizeof=getsizeof)
        self._enabled = maxsize > 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            return self._entries.get(key)

    def get_many(self, keys: list) -> list:
        with self._lock:
            return [self._entries.get(key) for key in keys]

    def put(self, key: Hashable, value: Any) -> None:
        if self._enabled and self._entries.getsizeof(value) <= self._entries.maxsize:
            with self._lock:
                self._entries[key] = value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
