"""Content-addressed LRU cache for fitted models and results.

A recalculating sheet calls the same function over the same range many times; keying on the
*content* of the inputs (not object identity) lets every such call reuse one fit.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


def content_key(*parts: object) -> str:
    """SHA-256 over the bytes of arrays/frames and the repr of everything else.

    DataFrames contribute their values, index and column labels, so two ranges with the same
    numbers but different dates or asset names do not collide.
    """
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, pd.DataFrame | pd.Series):
            h.update(np.ascontiguousarray(part.to_numpy(dtype=float)).tobytes())
            h.update(
                np.asarray(
                    part.index.astype("int64")
                    if isinstance(part.index, pd.DatetimeIndex)
                    else part.index.astype(str)
                ).tobytes()
            )
            names = part.columns if isinstance(part, pd.DataFrame) else [part.name]
            h.update("\x1f".join(map(str, names)).encode())
        elif isinstance(part, np.ndarray):
            h.update(str((part.dtype, part.shape)).encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(repr(part).encode())
        h.update(b"\x1e")
    return h.hexdigest()


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0  # computed here
    shared_hits: int = 0  # found in the shared store


class SharedStore(Protocol):
    """A byte store shared between processes and hosts (e.g. `RedisStore`)."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes) -> None: ...


class RedisStore:
    """`SharedStore` on Redis (`redis://HOST:PORT/DB`): keys under `regime-risk:<namespace>:`,
    each kept `ttl` seconds. Values are pickles: the Redis server must be reachable only by
    the servers that share it (loopback or a private network, with a password)."""

    def __init__(self, url: str, namespace: str, ttl: int = 7 * 24 * 3600) -> None:
        import redis  # only where a shared cache is configured

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = f"regime-risk:{namespace}:"
        self.ttl = ttl

    def get(self, key: str) -> bytes | None:
        value = self.client.get(self.prefix + key)
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes) -> None:
        self.client.set(self.prefix + key, value, ex=self.ttl)


class ContentCache:
    """Bounded, thread-safe LRU mapping content keys to computed values.

    With `shared` set (a `SharedStore`), a local miss is looked up there before computing and
    every computed value is stored there (pickled), so processes and hosts share fits. A
    failing shared store is logged and skipped: the value is computed locally."""

    def __init__(self, maxsize: int = 64, shared: SharedStore | None = None) -> None:
        self.maxsize = maxsize
        self.shared = shared
        self.stats = CacheStats()
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def _shared_get(self, key: Hashable) -> Any:
        if self.shared is None or not isinstance(key, str):
            return None
        try:
            blob = self.shared.get(key)
            return None if blob is None else pickle.loads(blob)
        except Exception as exc:
            log.warning("shared cache: read failed (%s); computing locally", exc)
            return None

    def _shared_set(self, key: Hashable, value: Any) -> None:
        if self.shared is None or not isinstance(key, str):
            return
        try:
            self.shared.set(key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception as exc:
            log.warning("shared cache: write failed (%s)", exc)

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """Return the cached value for `key`, computing and storing it on a miss."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.stats.hits += 1
                return self._data[key]
        value = self._shared_get(key)
        with self._lock:
            if value is not None:
                self.stats.shared_hits += 1
            else:
                self.stats.misses += 1
        if value is None:
            value = compute()  # outside the lock: fits may take seconds
            self._shared_set(key, value)
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.stats = CacheStats()

    def __len__(self) -> int:
        return len(self._data)
