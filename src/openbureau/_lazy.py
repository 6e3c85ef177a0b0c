"""Package names that load on first use (PEP 562).

A package's ``__init__`` maps each exported name to the module that defines it, so that
importing the package (for the CLI to register its commands, or a batch job to reach one
small module) does not import the heavy ones (DuckDB, Arrow, FastAPI) before they are used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``exports[name]`` and returns its ``name``."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
