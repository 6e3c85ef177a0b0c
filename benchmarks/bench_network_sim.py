"""Does the network factor recover the simulator's planted homophily, and what does it add?

The simulator gives each person a network term: the mean own risk of their consented
contacts (``_truth/logit_network``). This benchmark builds the catalog's training set
(network features seeded by contacts' recorded defaults before as_of, out of fold), then
cross-validates openbureau's model with and without the network factor on the same folds,
and compares the fitted network sub-score with the planted term on the test folds: its
correlation with the planted contact risk and the default rate by decile of the sub-score
(a dose-response), beside the same by decile of the planted contact risk.

    python benchmarks/bench_network_sim.py [--people 50000] [--folds 5] [--work DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    from sklearn.metrics import roc_auc_score

    from openbureau.evaluate.crossval import cross_validate
    from openbureau.evaluate.models import factor_model
    from openbureau.evaluate.table import Prepared
    from openbureau.features import SEGMENTS, feature_specs, training_set
    from openbureau.ingest import ingest
    from openbureau.network import SEED_DEPENDENT, NetworkConfig
    from openbureau.sim import simulate
    from openbureau.store import Store

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, help="reuse/keep the simulation and store here")
    parser.add_argument("--json", type=Path, default=ROOT / "results" / "network_sim.json")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-network-sim-"))
    sim, store = work / "sim", work / "store"
    started = time.perf_counter()
    if not (sim / "_manifest.json").exists():
        simulate(sim, people=args.people, months=24, seed=args.seed)
    if not (store / "openbureau.duckdb").exists():
        with Store(store) as db:
            ingest([sim], db)
    as_of = dt.date.fromisoformat(
        json.loads((sim / "_manifest.json").read_text())["window"]["as_of"]
    )
    with Store(store, read_only=True) as db:
        table = training_set(db.con, [as_of])
    console.print(f"training set: {table.num_rows:,} rows ({time.perf_counter() - started:.0f}s)")
    specs = list(feature_specs())
    names = [s.name for s in specs]
    data = pd.DataFrame({n: table.column(n).to_numpy(zero_copy_only=False) for n in names})
    y = table.column("label").to_numpy().astype(np.int8)
    prep = Prepared(
        data=data.astype(np.float64), y=y, ids=None,
        segment=np.asarray(table.column("segment").to_pylist(), dtype=object),
        segment_names=tuple(SEGMENTS), label="label",
        label_values={"default": 1, "good": 0}, text={}, source=f"<simulator {args.people}>",
    )  # fmt: skip
    exposures = {"network_exposures": [n for n in SEED_DEPENDENT if n in names]}
    subs: dict[str, np.ndarray] = {"network": np.full(len(y), np.nan)}

    class WithNetwork:
        """openbureau's model, keeping the network sub-score of the test rows it scores."""

        def __init__(self, ctx):  # type: ignore[no-untyped-def]
            self.model = factor_model(ctx, exposures)

        def fit(self, X, y):  # type: ignore[no-untyped-def]
            self.model.fit(X, y)
            return self

        def predict_proba(self, X):  # type: ignore[no-untyped-def]
            res = self.model.score_breakdown(X)
            self.last_network = res.subscores[:, res.factors.index("network")]
            return self.model.predict_proba(X)

    fitted: list[WithNetwork] = []

    def with_network(ctx):  # type: ignore[no-untyped-def]
        m = WithNetwork(ctx)
        fitted.append(m)
        return m

    def without_network(ctx):  # type: ignore[no-untyped-def]
        own = [m for m in ctx.features if m.factor != "network"]
        return factor_model(replace(ctx, features=own))

    def keep(i: int, name: str, row: dict) -> None:  # type: ignore[type-arg]
        console.print(f"  fold {i + 1} {name:<22} AUC {row['auc']:.4f}", highlight=False)
        if name == "with_network":
            subs["network"][cv_assignment() == i] = fitted[-1].last_network

    from openbureau.evaluate.crossval import fold_assignment

    assignment = fold_assignment(y, args.folds, 0)

    def cv_assignment() -> np.ndarray:
        return assignment

    cv = cross_validate(
        prep, specs, {"with_network": with_network, "without_network": without_network},
        k=args.folds, seed=0, on_fold=keep,
    )  # fmt: skip
    truth = pq.read_table(sim / "_truth").to_pandas().set_index("person_id")
    t = truth.loc[table.column("person_id").to_pylist()]
    logit = np.log(t.true_pd / (1 - t.true_pd))
    with_s = cv.models["with_network"].summary()
    without_s = cv.models["without_network"].summary()
    has = t.degree.to_numpy() > 0
    result = {
        "people": args.people,
        "rows": len(y),
        "default_rate": float(y.mean()),
        "auc_with_network": with_s["auc"],
        "auc_with_network_std": with_s["auc_std"],
        "auc_without_network": without_s["auc"],
        "auc_without_network_std": without_s["auc_std"],
        "lift": with_s["auc"] - without_s["auc"],
        "oracle_auc": float(roc_auc_score(y, t.true_pd)),
        "oracle_auc_without_network": float(roc_auc_score(y, logit - t.logit_network)),
        "planted_network_auc": float(roc_auc_score(y, t.logit_network)),
        "network_subscore_auc": float(roc_auc_score(y, -subs["network"])),
        "corr_subscore_planted": float(
            np.corrcoef(-subs["network"][has], t.logit_network.to_numpy()[has])[0, 1]
        ),
        "seconds": time.perf_counter() - started,
    }
    # Dose-response on the test folds, among people with k or more consented contacts
    # (below k the sub-score is neutral by design): default rate by decile of riskiness
    # (deciles of the negated sub-score; ties broken by row order), and the same by
    # deciles of the planted contact risk as the reference.
    contacts = np.nan_to_num(data["network_contacts"].to_numpy())
    enough = contacts >= NetworkConfig().min_contacts
    risk = t.contact_risk.to_numpy()
    result["rows_with_k_contacts"] = int(enough.sum())
    result["corr_subscore_contact_risk"] = float(
        np.corrcoef(-subs["network"][enough], risk[enough])[0, 1]
    )
    result["corr_default_share_contact_risk"] = float(
        np.corrcoef(data["network_default_share"].to_numpy()[enough], risk[enough])[0, 1]
    )
    result["default_rate_by_subscore_decile"] = _decile_rates(-subs["network"][enough], y[enough])
    result["default_rate_by_contact_risk_decile"] = _decile_rates(risk[enough], y[enough])
    tab = Table(title=f"network factor on the simulator — {args.people:,} people")
    tab.add_column("measure")
    tab.add_column("value", justify="right")
    for k, v in result.items():
        if isinstance(v, list):
            tab.add_row(k, " ".join(f"{x:.3f}" for x in v))
        else:
            tab.add_row(k, f"{v:.4f}" if isinstance(v, float) else f"{v:,}")
    Console().print(tab)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    console.print(f"wrote {args.json}")
    return 0


def _decile_rates(riskiness: np.ndarray, y: np.ndarray) -> list[float]:
    """Default rate in each tenth of the rows, from least to most risky."""
    order = np.argsort(riskiness, kind="stable")
    return [float(y[part].mean()) for part in np.array_split(order, 10)]


if __name__ == "__main__":
    raise SystemExit(main())
