"""Monitoring: population stability and the analyst's model report."""

from openbureau.monitor.stability import Bins, psi

__all__ = ["Bins", "psi"]
