"""The page caches are bounded: the oldest unused entry goes first."""

import pytest

from openbureau.web.lru import LRU


def test_the_least_recently_used_entry_is_evicted_first():
    cache: LRU[str] = LRU(size=2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # a is now the younger
    cache.put("c", "C")
    assert "b" not in cache and cache.get("a") == "A" and cache.get("c") == "C"
    assert len(cache) == 2


def test_a_missing_key_is_none_and_a_put_returns_its_value():
    cache: LRU[int] = LRU(size=1)
    assert cache.get("x") is None
    assert cache.put("x", 3) == 3 and cache.get("x") == 3


@pytest.mark.parametrize(("size", "error"), [(0, ValueError), ("2", TypeError), (True, TypeError)])
def test_a_bad_size_is_refused(size, error):
    with pytest.raises(error, match="size"):
        LRU(size=size)


def test_the_services_page_caches_are_bounded():
    from openbureau.web import monitor, routes

    assert isinstance(routes._report_cache, LRU) and routes._report_cache.size <= 16
    assert isinstance(monitor._cache, LRU) and monitor._cache.size <= 16
