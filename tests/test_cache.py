"""engine.cache: the content-keyed LRU and its optional shared store (Redis across processes)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from engine.cache import ContentCache, RedisStore, content_key
from tests.servers import start_redis


class DictStore:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    def set(self, key: str, value: bytes) -> None:
        self.data[key] = value


class BrokenStore:
    def get(self, key: str) -> bytes | None:
        raise ConnectionError("down")

    def set(self, key: str, value: bytes) -> None:
        raise ConnectionError("down")


def test_content_key_sees_values_dates_and_names():
    idx = pd.date_range("2020-01-01", periods=3)
    a = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=idx)
    assert content_key(a) == content_key(a.copy())
    assert content_key(a) != content_key(a.rename(columns={"x": "y"}))
    assert content_key(a) != content_key(a.set_axis(idx + pd.Timedelta(days=1)))
    assert content_key(a) != content_key(a * 1.0000001)


def test_a_second_process_finds_the_value_in_the_shared_store():
    store = DictStore()
    first, second = ContentCache(shared=store), ContentCache(shared=store)
    calls = []

    def compute() -> np.ndarray:
        calls.append(1)
        return np.arange(3.0)

    np.testing.assert_array_equal(first.get_or_compute("k", compute), np.arange(3.0))
    np.testing.assert_array_equal(second.get_or_compute("k", compute), np.arange(3.0))
    assert len(calls) == 1
    assert (first.stats.misses, second.stats.shared_hits, second.stats.misses) == (1, 1, 0)
    second.get_or_compute("k", compute)
    assert second.stats.hits == 1  # now local


def test_a_failing_shared_store_is_logged_and_skipped(caplog):
    cache = ContentCache(shared=BrokenStore())
    with caplog.at_level(logging.WARNING, logger="engine.cache"):
        assert cache.get_or_compute("k", lambda: 42) == 42
    assert cache.stats.misses == 1
    assert sum("shared cache" in r.message for r in caplog.records) == 2


def test_redis_store_round_trip_and_namespace():
    with start_redis() as url:
        store = RedisStore(url, namespace="fit", ttl=60)
        cache_a, cache_b = ContentCache(shared=store), ContentCache(shared=store)
        frame = pd.DataFrame({"x": [1.0, 2.0]})
        cache_a.get_or_compute("abc", lambda: frame)
        got = cache_b.get_or_compute("abc", lambda: pytest.fail("recomputed"))
        pd.testing.assert_frame_equal(got, frame)
        assert store.client.ttl("regime-risk:fit:abc") > 0
        store.client.close()
