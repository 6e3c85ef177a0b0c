"""The data contract: the tables the five factors read, and the attributes refused."""

from openbureau.contract.prohibited import (
    PROHIBITED_MARKERS,
    ProhibitedColumn,
    find_prohibited,
    prohibited_category,
)
from openbureau.contract.schema import Check, Field, Table
from openbureau.contract.tables import MERCHANT_CATEGORIES, TABLES, TABLES_BY_NAME, get_table

FACTORS = ("history", "behavior", "capacity", "identity", "network")

__all__ = [
    "FACTORS",
    "MERCHANT_CATEGORIES",
    "PROHIBITED_MARKERS",
    "TABLES",
    "TABLES_BY_NAME",
    "Check",
    "Field",
    "ProhibitedColumn",
    "Table",
    "find_prohibited",
    "get_table",
    "prohibited_category",
]
