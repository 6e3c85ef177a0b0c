"""Jurisdiction policy packs: allowed factors, record expiry, adverse-action and consent rules.

``load_pack("eu")`` reads a shipped pack (or a YAML file by path) into a checked, frozen
``PolicyPack``; ``apply_policy`` splits a feature list into what the pack allows and what it
drops, with the legal reason; ``check_model`` refuses a model that may not score under it.
"""

from openbureau.policy.apply import (
    DroppedFeature,
    PolicyDecision,
    apply_policy,
    check_model,
    drop_forbidden_columns,
    network_excess,
)
from openbureau.policy.pack import (
    DEFAULT_PACK,
    AdverseAction,
    Citation,
    ForbiddenFactor,
    NetworkRules,
    PolicyError,
    PolicyPack,
    PolicyPackError,
    available_packs,
    load_pack,
    parse_pack,
)

__all__ = [
    "DEFAULT_PACK",
    "AdverseAction",
    "Citation",
    "DroppedFeature",
    "ForbiddenFactor",
    "NetworkRules",
    "PolicyDecision",
    "PolicyError",
    "PolicyPack",
    "PolicyPackError",
    "apply_policy",
    "available_packs",
    "check_model",
    "drop_forbidden_columns",
    "load_pack",
    "network_excess",
    "parse_pack",
]
