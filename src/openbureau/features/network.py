"""Network: the slot for issue 4's relationship features (none yet).

Add specs with factor ``"network"`` to ``SPECS`` and their aggregations to ``GROUPS``; the
catalog picks both up. Rules a network feature must keep: only relationships with
``consent_a`` and ``consent_b`` both true and ``since`` before as_of; only contacts'
outcomes dated before as_of; aggregated and bounded so no contact can be identified.
"""

from __future__ import annotations

from openbureau.features.spec import FeatureGroup, FeatureSpec

GROUPS: tuple[FeatureGroup, ...] = ()
SPECS: tuple[FeatureSpec, ...] = ()
