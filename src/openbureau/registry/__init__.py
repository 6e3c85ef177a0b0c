"""The model registry: trained models with their artifacts, data hash, policy pack, metrics
and card, in states ``candidate``, ``champion`` and ``retired``; promotion on a passing
release report switches the champion and its published scores in one transaction.

Names load on first use (PEP 562), so ``openbureau models --help`` starts without the
service's database stack, and the service can import this package while it initialises.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ModelFolder": "artifact",
    "read_model_folder": "artifact",
    "Promotion": "core",
    "champion": "core",
    "get_model": "core",
    "list_models": "core",
    "model_events": "core",
    "promote": "core",
    "register": "core",
    "retire": "core",
    "RegistryError": "errors",
    "ReleaseReport": "release",
    "load_release": "release",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'openbureau.registry' has no attribute {name!r}")
    return getattr(importlib.import_module(f"openbureau.registry.{_WHERE[name]}"), name)
