"""Content-addressed LRU cache for fitted models and results.

A recalculating sheet calls the same function over the same range many times; keying on the
*content* of the inputs (not object identity) lets every such call reuse one fit.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


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
    misses: int = 0


class ContentCache:
    """Bounded, thread-safe LRU mapping content keys to computed values."""

    def __init__(self, maxsize: int = 64) -> None:
        self.maxsize = maxsize
        self.stats = CacheStats()
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """Return the cached value for `key`, computing and storing it on a miss."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.stats.hits += 1
                return self._data[key]
            self.stats.misses += 1
        value = compute()  # outside the lock: fits may take seconds
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
