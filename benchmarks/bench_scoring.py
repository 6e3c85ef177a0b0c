"""Scoring speed: openbureau's compiled scorer against LightGBM on the same model.

One factor-additive model is fitted on part of a synthetic population, then the same
rows are scored by LightGBM ``predict`` (plain), LightGBM ``predict(pred_contrib=True)``
(per-feature contributions, what reason codes would otherwise need), and openbureau's
scorer (score, five factor sub-scores, calibrated PD, top-4 reasons). Also the latency of
scoring and explaining one person, the service path.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_scoring.py [--rows 1000000]
        [--features 40] [--train 200000] [--json benchmarks/results/scoring.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import lightgbm as lgb
import numpy as np
from rich.console import Console
from rich.table import Table

from openbureau.explain import explain
from openbureau.model import FactorAdditiveClassifier
from openbureau.model.synthetic import make_population


def best_of(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def run(rows: int, n_features: int, train: int, trees: int, threads: int) -> dict[str, Any]:
    started = time.perf_counter()
    pop = make_population(rows, n_features, seed=42)
    gen_s = time.perf_counter() - started
    model = FactorAdditiveClassifier(
        pop.features,
        n_estimators=trees,
        num_threads=threads,
        min_child_samples=200,
        calibration_cv=0,
    )
    t = time.perf_counter()
    model.fit(pop.table.slice(0, train), pop.y[:train])
    fit_s = time.perf_counter() - t
    booster: lgb.Booster = model.booster_
    X = model._matrix(model._frame(pop.table), len(model.segments_))
    contrib_rows = min(rows, 200_000)  # pred_contrib is slow: time a slice
    results: dict[str, Any] = {}

    def rate(name: str, n: int, seconds: float) -> None:
        results[name] = {"rows": n, "seconds": seconds, "rows_per_second": n / seconds}

    rate(
        "lightgbm_predict",
        rows,
        best_of(lambda: booster.predict(X, raw_score=True, num_threads=threads), 2),
    )
    rate(
        "lightgbm_pred_contrib",
        contrib_rows,
        best_of(
            lambda: booster.predict(X[:contrib_rows], pred_contrib=True, num_threads=threads), 1
        ),
    )
    rate("openbureau_scorer", rows, best_of(lambda: model.score_breakdown(pop.table, threads), 3))
    rate(
        "openbureau_scorer_1_thread", rows, best_of(lambda: model.score_breakdown(pop.table, 1), 2)
    )
    frame = model._frame(pop.table)
    rate(
        "openbureau_scorer_prepared_input",
        rows,
        best_of(lambda: model.scorer_.score(frame, threads), 3),
    )
    # exactness on this model, with NaNs in half the features
    raw_err = float(
        np.max(np.abs(model.raw_log_odds(pop.table) - booster.predict(X, raw_score=True)))
    )
    one = {f.name: float(pop.table.column(f.name)[7].as_py()) for f in pop.features}
    one["segment"] = str(pop.table.column("segment")[7].as_py())
    one_row = dict(one)  # the service path: one person as a mapping
    n_lat = 2000
    lat_score = (
        best_of(lambda: [model.score_breakdown(one_row, 1) for _ in range(n_lat)], 3) / n_lat
    )
    lat_explain = best_of(lambda: [explain(model, one_row) for _ in range(n_lat)], 3) / n_lat
    Xone = X[7:8]
    lat_lgb = (
        best_of(
            lambda: [booster.predict(Xone, raw_score=True, num_threads=1) for _ in range(n_lat)], 3
        )
        / n_lat
    )
    ob = results["openbureau_scorer"]["rows_per_second"]
    return {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "lightgbm": lgb.__version__,
            "numpy": np.__version__,
        },
        "rows": rows,
        "features": n_features,
        "trees": booster.num_trees(),
        "threads": threads,
        "train_rows": train,
        "generate_seconds": gen_s,
        "fit_seconds": fit_s,
        "max_abs_raw_difference_vs_lightgbm": raw_err,
        "throughput": results,
        "ratios": {
            "scorer_vs_pred_contrib": ob / results["lightgbm_pred_contrib"]["rows_per_second"],
            "scorer_vs_plain_predict": ob / results["lightgbm_predict"]["rows_per_second"],
        },
        "latency_seconds": {
            "score_one_person": lat_score,
            "explain_one_person": lat_explain,
            "lightgbm_predict_one_row": lat_lgb,
        },
    }


def show(r: dict[str, Any]) -> None:
    c = Console()
    t = Table(
        title=f"scoring {r['rows']:,} rows x {r['features']} features, {r['trees']} trees, "
        f"{r['threads']} threads"
    )
    for col in ("method", "rows timed", "seconds", "rows/s", "vs openbureau"):
        t.add_column(col, justify="right" if col != "method" else "left")
    ob = r["throughput"]["openbureau_scorer"]["rows_per_second"]
    for name, v in r["throughput"].items():
        t.add_row(
            name,
            f"{v['rows']:,}",
            f"{v['seconds']:.3f}",
            f"{v['rows_per_second']:,.0f}",
            f"{ob / v['rows_per_second']:.2f}x",
        )
    c.print(t)
    lat = r["latency_seconds"]
    c.print(
        f"one person: score {lat['score_one_person'] * 1e6:.0f} µs, explain "
        f"{lat['explain_one_person'] * 1e6:.0f} µs, LightGBM predict "
        f"{lat['lightgbm_predict_one_row'] * 1e6:.0f} µs; max |raw - LightGBM| = "
        f"{r['max_abs_raw_difference_vs_lightgbm']:.2e}; fit {r['fit_seconds']:.1f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=40)
    ap.add_argument("--train", type=int, default=200_000)
    ap.add_argument("--trees", type=int, default=400)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=Path("benchmarks/results/scoring.json"))
    a = ap.parse_args()
    r = run(a.rows, a.features, min(a.train, a.rows), a.trees, a.threads)
    show(r)
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(r, indent=2) + "\n")


if __name__ == "__main__":
    main()
