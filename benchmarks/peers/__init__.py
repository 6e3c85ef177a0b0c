"""Peer methods that benchmarks compare openbureau with, where no maintained package exists."""
