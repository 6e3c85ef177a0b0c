"""Run a simulation: global traits and graph first, then events chunk by chunk to Parquet."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from openbureau.contract import TABLES
from openbureau.sim import credit, finances, identity, outcomes, payments, records, spending
from openbureau.sim.audit import AUDIT, audit_groups, audit_table
from openbureau.sim.block import Block
from openbureau.sim.calendar import Calendar
from openbureau.sim.config import BLOCK_SIZE, SimConfig, validate
from openbureau.sim.network import Graph, build_graph, relationships_table
from openbureau.sim.population import Population, build_population
from openbureau.sim.risk import FACTORS, assign_risk, auc
from openbureau.sim.truth import truth_table
from openbureau.sim.writer import PartWriter, clear_outputs

SIM_VERSION = 1
TRUTH = "_truth"
MANIFEST = "_manifest.json"


@dataclass(frozen=True)
class SimulationReport:
    """What a simulation wrote and how the population came out."""

    out: Path
    people: int
    months: int
    seed: int
    rows: Mapping[str, int] = field(hash=False)
    default_rate: float
    thin_file_share: float
    oracle_auc: float
    seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def __str__(self) -> str:
        lines = [
            f"Simulated {self.people:,} people over {self.months} months (seed {self.seed}) "
            f"into {self.out} in {self.seconds:.1f} s",
            f"  default rate {self.default_rate:.2%}, thin files {self.thin_file_share:.1%}, "
            f"oracle AUC {self.oracle_auc:.3f}",
            f"  {self.total_rows:,} rows:",
        ]
        width = max(len(k) for k in self.rows)
        lines += [f"    {k:<{width}}  {v:>14,}" for k, v in self.rows.items()]
        return "\n".join(lines)


def simulate(
    out: Path | str,
    people: int,
    months: int = 24,
    seed: int = 0,
    *,
    end: dt.date = dt.date(2025, 12, 31),
    label_months: int = 12,
    chunk_size: int = 50_000,
    progress: Callable[[int], None] | None = None,
    txn_per_month: float = 5.0,
    mean_contacts: float = 8.0,
    target_default_rate: float = 0.06,
    overwrite: bool = False,
) -> SimulationReport:
    """Simulate ``people`` people over ``months`` months and write every contract table.

    Output is ``out/<table>/part-NNNNN.parquet`` (one part per chunk), plus ``out/_truth``,
    ``out/_audit`` (audit-only groups: sex, age band, ethnic group; never ingested) and
    ``out/_manifest.json``. The same arguments give the same tables, whatever
    ``chunk_size``: people are drawn in fixed blocks of 1,000 with one random stream each,
    and a chunk is a whole number of blocks (``chunk_size`` is rounded up to one).

    ``as_of = end - label_months``; events before it follow latent traits only, defaults
    are drawn for the window after it. ``txn_per_month`` is the mean number of transactions
    per person-month (the monthly income credit included), ``mean_contacts`` the rough mean
    number of relationships per person, ``target_default_rate`` the expected share of
    defaulters. ``progress(n)`` is called after each chunk with the people generated so far.
    ``overwrite`` replaces an earlier simulation in ``out`` (its part files only).
    """
    started = time.perf_counter()
    path, cfg = validate(
        out, people, months, seed, end, label_months, chunk_size, progress,
        txn_per_month, mean_contacts, target_default_rate,
    )  # fmt: skip
    clear_outputs(path, [t.name for t in TABLES] + [TRUTH, AUDIT], MANIFEST, overwrite=overwrite)
    cal = Calendar.build(cfg.end, cfg.months, cfg.label_months)
    pop = build_population(cfg, cal)
    graph = build_graph(pop, cfg, cal)
    assign_risk(pop, graph, cfg, cal)
    groups = audit_groups(pop, cfg.seed)
    width = max(8, len(str(cfg.people)))

    rows = dict.fromkeys([t.name for t in TABLES], 0)
    with PartWriter(path) as writer:
        for chunk in range(cfg.chunks):
            for name, table in chunk_tables(cfg, cal, pop, graph, chunk, width).items():
                writer.write(name, chunk, table)
                if name in rows:
                    rows[name] += table.num_rows
            lo, hi = cfg.chunk_people(chunk)
            writer.write(AUDIT, chunk, audit_table(groups, lo, hi, width))
            if progress is not None:
                progress(cfg.chunk_people(chunk)[1])

    report = SimulationReport(
        out=path,
        people=cfg.people,
        months=cfg.months,
        seed=cfg.seed,
        rows=rows,
        default_rate=float(pop.defaulted.mean()),
        thin_file_share=float(pop.thin.mean()),
        oracle_auc=auc(pop.true_pd, pop.defaulted),
        seconds=time.perf_counter() - started,
    )
    _write_manifest(path / MANIFEST, cfg, cal, pop, graph, report)
    return report


def chunk_tables(
    cfg: SimConfig, cal: Calendar, pop: Population, graph: Graph, chunk: int, width: int
) -> dict[str, pa.Table]:
    """Every table's part for one chunk (a whole number of blocks)."""
    lo, hi = cfg.chunk_people(chunk)
    parts: dict[str, list[pa.Table]] = {t.name: [] for t in TABLES}
    for b in range(lo // BLOCK_SIZE, (hi + BLOCK_SIZE - 1) // BLOCK_SIZE):
        for name, table in block_tables(Block(b, cfg, cal, pop, width)).items():
            parts[name].append(table)
    parts["relationships"] = [relationships_table(graph, lo, hi, width)]
    tables = {name: pa.concat_tables(ts) for name, ts in parts.items()}
    tables[TRUTH] = truth_table(pop, lo, hi, cal, width)
    return tables


def block_tables(block: Block) -> dict[str, pa.Table]:
    """The person-level tables of one block (relationships are drawn globally)."""
    acc = credit.make_accounts(block)
    outcome_rows, defaults = outcomes.outcomes_table(block, acc)
    return {
        "people": identity.people_table(block),
        "accounts": credit.accounts_table(block, acc),
        "repayments": payments.repayments_table(block, acc),
        "bills": records.bills_table(block),
        "public_records": records.public_records_table(block, defaults),
        "transactions": spending.transactions_table(block),
        "balances": finances.balances_table(block),
        "incomes": finances.incomes_table(block, acc),
        "identity_verifications": identity.verifications_table(block),
        "addresses": identity.addresses_table(block),
        "employment": identity.employment_table(block),
        "outcomes": outcome_rows,
    }


def _write_manifest(
    path: Path, cfg: SimConfig, cal: Calendar, pop: Population, graph: Graph, r: SimulationReport
) -> None:
    manifest = {
        "generator": "openbureau.sim",
        "version": SIM_VERSION,
        "parameters": cfg.as_dict(),
        "seed": cfg.seed,
        "window": {
            "start": str(np.datetime64(cal.start, "D")),
            "as_of": cal.as_of_date.isoformat(),
            "end": cal.end_date.isoformat(),
        },
        "chunks": cfg.chunks,
        "rows": dict(r.rows),
        "total_rows": r.total_rows,
        "default_rate": r.default_rate,
        "expected_default_rate": float(pop.true_pd.mean()),
        "thin_file_share": r.thin_file_share,
        "oracle_auc": None if math.isnan(r.oracle_auc) else r.oracle_auc,  # strict JSON
        "intercept": pop.intercept,
        "factor_logit_sd": {f: float(pop.logits[f].std()) for f in FACTORS},
        "relationships": len(graph),
        "mean_degree_before_as_of": float(pop.degree.mean()),
        "isolated_share_before_as_of": float((pop.degree == 0).mean()),
        "seconds": r.seconds,
    }
    path.write_text(json.dumps(manifest, indent=2, allow_nan=False) + "\n")
