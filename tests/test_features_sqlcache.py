"""The disk cache of compiled catalog SQL: a hit gives what a fresh compile gives, and
anything that could change the compilation gives another key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from openbureau.features import sqlcache
from openbureau.features.build import DATES, compiled_sql
from openbureau.features.catalog import CATALOG, GROUPS, _version, catalog_version
from openbureau.features.spec import FeatureParams


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("OPENBUREAU_CACHE", str(folder))
    return folder


def test_a_hit_returns_what_was_computed_and_computes_once(cache: Path) -> None:
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        return "SELECT 1"

    assert sqlcache.cached_text("t", compute, FeatureParams()) == "SELECT 1"
    assert sqlcache.cached_text("t", compute, FeatureParams()) == "SELECT 1"
    assert len(calls) == 1
    assert len(list(cache.glob("t-*.json"))) == 1


def test_other_arguments_other_keys(cache: Path) -> None:
    base = sqlcache.cache_key("x", FeatureParams(), None)
    assert sqlcache.cache_key("x", FeatureParams(thin_min_accounts=3), None) != base
    assert sqlcache.cache_key("x", FeatureParams(), 12) != base
    assert sqlcache.cache_key("y", FeatureParams(), None) != base
    assert sqlcache.cache_key("x", FeatureParams(), None) == base


def test_the_key_follows_the_package_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """An edited source file (here: a fingerprint over another tree) gives another key."""
    before = sqlcache.cache_key("x", FeatureParams())
    sqlcache.code_fingerprint.cache_clear()
    monkeypatch.setattr(sqlcache, "code_fingerprint", lambda: "edited")
    assert sqlcache.cache_key("x", FeatureParams()) != before


def test_a_corrupt_or_foreign_file_is_recompiled(cache: Path) -> None:
    sqlcache.cached_text("t", lambda: "A")
    (path,) = cache.glob("t-*.json")
    for bad in ("not json", json.dumps({"format": "other", "text": "B"}), "[]"):
        path.write_text(bad)
        assert sqlcache.cached_text("t", lambda: "C") == "C"
    record = json.loads(path.read_text())
    assert record["text"] == "C" and record["key"] == sqlcache.cache_key("t")


def test_an_unwritable_cache_is_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    monkeypatch.setenv("OPENBUREAU_CACHE", str(blocked / "cache"))
    assert sqlcache.cached_text("t", lambda: "D") == "D"


def test_off_computes_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBUREAU_CACHE", "off")
    assert sqlcache.cache_dir() is None
    calls: list[int] = []
    for _ in range(2):
        sqlcache.cached_text("t", lambda: calls.append(1) or "E")
    assert len(calls) == 2


def test_cached_catalog_sql_and_version_equal_a_fresh_compile(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What another process wrote to the cache is exactly what this one compiles afresh."""
    params = FeatureParams()
    env = {**os.environ, "OPENBUREAU_CACHE": str(cache)}
    code = (
        "from openbureau.features.build import compiled_sql, DATES;"
        "from openbureau.features import catalog_version;"
        "from openbureau.features.spec import FeatureParams;"
        "compiled_sql(DATES, FeatureParams()); print(catalog_version())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert {p.name.split("-")[0] for p in cache.glob("*.json")} == {"catalog", "features"}
    assert out.stdout.strip() == _version(CATALOG, GROUPS, params)  # compiled here, no cache
    compiled_sql.cache_clear()
    try:
        from_file = compiled_sql(DATES, params)
        monkeypatch.setenv("OPENBUREAU_CACHE", "off")
        compiled_sql.cache_clear()
        assert from_file == compiled_sql(DATES, params)
    finally:
        compiled_sql.cache_clear()
    assert catalog_version() == out.stdout.strip()
