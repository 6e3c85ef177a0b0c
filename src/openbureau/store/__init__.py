"""The embedded event store (DuckDB): contract tables, quarantine and ingest log."""

from openbureau.store.database import DEFAULT_STORE, LINEAGE_COLUMNS, Store, resolve_store
from openbureau.store.status import quarantined_rows, store_status

__all__ = [
    "DEFAULT_STORE",
    "LINEAGE_COLUMNS",
    "Store",
    "quarantined_rows",
    "resolve_store",
    "store_status",
]
