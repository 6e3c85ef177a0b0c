"""The network factor's engines: consented relationships at as_of, walks over them, and
bounded, aggregate features of contacts' recorded defaults.

``sparse`` runs on one machine (scipy CSR); ``relational`` is the same definition as Ibis
joins and group-bys for any backend (Spark); ``store`` reads a DuckDB store for ``sparse``.
"""

from openbureau.network.config import (
    FEATURES,
    KINDS,
    NETWORK_VERSION,
    SEED_DEPENDENT,
    SEED_INDEPENDENT,
    NetworkConfig,
)
from openbureau.network.sparse import contact_matrix, contact_pairs, network_features

__all__ = [
    "FEATURES",
    "KINDS",
    "NETWORK_VERSION",
    "SEED_DEPENDENT",
    "SEED_INDEPENDENT",
    "NetworkConfig",
    "contact_matrix",
    "contact_pairs",
    "network_features",
]
