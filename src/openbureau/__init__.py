"""openbureau: an open, explainable, consent-based credit bureau (350-950, five factors)."""

__version__ = "0.1.0"
