"""A disk cache for what Ibis compiles from the catalog, keyed by the code that compiles it.

Compiling the whole catalog to SQL costs several CPU-seconds (Ibis builds and sqlglot
optimises an expression of a few thousand nodes), and every scoring process needs it
twice: once for the catalog version it checks a model against, once for the query it
runs. That fixed cost dominated small incremental re-scores. The compiled text is a pure
function of openbureau's source, the Ibis and sqlglot versions and the parameters, so it
is cached under a key hashing all of them: any edit to the package, or another Ibis,
gives a new key and a fresh compile. Nothing is trusted from the cache but a string
written by this module; a file that is unreadable or not what we wrote is recomputed.

The folder is ``$OPENBUREAU_CACHE`` or ``$XDG_CACHE_HOME/openbureau`` (default
``~/.cache/openbureau``); ``OPENBUREAU_CACHE=off`` turns the cache off.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import openbureau

_FORMAT = "openbureau-sql-cache/1"


def cache_dir() -> Path | None:
    """Where cached compilations live, or None when caching is off."""
    configured = os.environ.get("OPENBUREAU_CACHE")
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "none") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "openbureau"


@functools.cache
def code_fingerprint() -> str:
    """A hash of every source file of the openbureau package and of the compilers' versions."""
    digest = hashlib.sha256()
    root = Path(openbureau.__file__).parent
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".yaml", ".yml", ".json") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    for package in ("ibis-framework", "sqlglot"):
        try:
            digest.update(f"{package}=={version(package)}\0".encode())
        except PackageNotFoundError:  # pragma: no cover - both are dependencies
            digest.update(f"{package}==?\0".encode())
    return digest.hexdigest()


def _describe(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return {"__dataclass__": type(value).__qualname__, **asdict(value)}
    return value


def cache_key(name: str, *args: object) -> str:
    """The key of one compilation: its name, its arguments and the code fingerprint."""
    payload = json.dumps(
        [_FORMAT, name, code_fingerprint(), [_describe(a) for a in args]],
        sort_keys=True,
        default=repr,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def cached_text(name: str, compute: Callable[[], str], *args: object) -> str:
    """``compute()``, read from the disk cache when this exact code compiled it before."""
    folder = cache_dir()
    if folder is None:
        return compute()
    key = cache_key(name, *args)
    path = folder / f"{name}-{key[:32]}.json"
    try:
        record = json.loads(path.read_text())
        if record.get("format") == _FORMAT and record.get("key") == key:
            text = record["text"]
            if isinstance(text, str):
                return text
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # absent, unreadable or not ours: compile
    text = compute()
    _write(path, {"format": _FORMAT, "key": key, "name": name, "text": text})
    return text


def _write(path: Path, record: dict[str, str]) -> None:
    """Atomically (a temporary file renamed), and never fatal: a cache is optional."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(record, f)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
