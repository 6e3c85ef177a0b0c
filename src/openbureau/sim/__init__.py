"""The synthetic population simulator: people whose events follow known latent traits.

``simulate`` writes every contract table as Parquet parts plus the ground truth (true
default probabilities and per-factor log-odds) so models can be checked against an oracle.
"""

from openbureau.sim.engine import SimulationReport, simulate

__all__ = ["SimulationReport", "simulate"]
