"""The release gate's checks. Each returns records ``{name, passed, status, values,
thresholds, why}`` (``details`` where a table helps), ``why`` being one plain sentence.

``status`` is ``pass``, ``warn`` (passes, but look), ``fail`` or ``not_applicable``
(e.g. a comparison with no champion; it does not fail the gate).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from openbureau.contract import FACTORS
from openbureau.release.rules import GateRules

if TYPE_CHECKING:
    from openbureau.model import AdditiveModel, FactorAdditiveClassifier

NO_CHAMPION = "not applicable: no champion (first release)"


def record(
    name: str,
    status: str,
    why: str,
    values: dict[str, Any] | None = None,
    thresholds: dict[str, Any] | None = None,
    details: Any = None,
) -> dict[str, Any]:
    """One check's record; ``passed`` is False only for ``fail``."""
    if status not in ("pass", "warn", "fail", "not_applicable"):
        raise ValueError(f"unknown check status {status!r}")
    out = {
        "name": name,
        "passed": status != "fail",
        "status": status,
        "values": values or {},
        "thresholds": thresholds or {},
        "why": why,
    }
    if details is not None:
        out["details"] = details
    return out


def auc_ks(y: np.ndarray, pd_: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """AUC of the PD and KS of the score (higher score = lower risk)."""
    from sklearn.metrics import roc_auc_score

    from openbureau.workflow.train import ks_statistic

    return float(roc_auc_score(y, pd_)), ks_statistic(y, -score)


def discrimination(
    y: np.ndarray,
    candidate: pa.Table,
    champion: pa.Table | None,
    rules: GateRules,
) -> list[dict[str, Any]]:
    """AUC and KS of the candidate not worse than the champion's beyond the margins."""
    c_auc, c_ks = auc_ks(y, _np(candidate, "pd"), _np(candidate, "score"))
    if champion is None:
        return [
            record(f"discrimination_{m}", "not_applicable", NO_CHAMPION, {"candidate": v})
            for m, v in (("auc", c_auc), ("ks", c_ks))
        ]
    h_auc, h_ks = auc_ks(y, _np(champion, "pd"), _np(champion, "score"))
    out = []
    for metric, cand, champ, margin in (
        ("AUC", c_auc, h_auc, rules.auc_margin),
        ("KS", c_ks, h_ks, rules.ks_margin),
    ):
        gap = cand - champ
        if gap >= -margin:
            status = "pass"
            why = (
                f"{metric} {cand:.3f} against the champion's {champ:.3f} ({gap:+.3f}); "
                f"a loss of up to {margin:g} is allowed"
            )
        else:
            status = "fail"
            why = (
                f"{metric} {cand:.3f} is {-gap:.3f} below the champion's {champ:.3f}; "
                f"the margin is {margin:g}"
            )
        out.append(
            record(
                f"discrimination_{metric.lower()}",
                status,
                why,
                {"candidate": cand, "champion": champ, "difference": gap},
                {"margin": margin},
            )
        )
    return out


def _np(table: pa.Table, column: str) -> np.ndarray:
    return table.column(column).to_numpy().astype(np.float64)


def calibration(y: np.ndarray, candidate: pa.Table, rules: GateRules) -> dict[str, Any]:
    """Observed vs predicted default rate in every 50-point score band of the candidate."""
    from openbureau.monitor.report import calibration_by_band

    rows = calibration_by_band(y, _np(candidate, "score"), _np(candidate, "pd"))
    bad = []
    for r in rows:
        r["tolerance"] = rules.calibration.allowed(r["predicted"], r["people"])
        r["gap"] = r["observed"] - r["predicted"]
        r["tested"] = r["people"] >= rules.min_band
        r["passed"] = (not r["tested"]) or abs(r["gap"]) <= r["tolerance"]
        if not r["passed"]:
            bad.append(r)
    thresholds = {"abs_tol": rules.calibration.abs_tol, "z": rules.calibration.z}
    tested = [r for r in rows if r["tested"]]
    if bad:
        worst = max(bad, key=lambda r: abs(r["gap"]) - r["tolerance"])
        why = (
            f"{len(bad)} of {len(tested)} score bands are off; worst is band {worst['band']}: "
            f"observed {worst['observed']:.1%} against {worst['predicted']:.1%} predicted "
            f"({worst['people']} people), beyond the tolerance {worst['tolerance']:.1%}"
        )
        return record(
            "calibration",
            "fail",
            why,
            {"failing_bands": [r["band"] for r in bad]},
            thresholds,
            rows,
        )
    biggest = max(tested, key=lambda r: abs(r["gap"]))
    why = (
        f"observed default rates are within tolerance in all {len(tested)} score bands "
        f"(largest gap {abs(biggest['gap']):.1%} in band {biggest['band']}, "
        f"tolerance {biggest['tolerance']:.1%})"
    )
    return record("calibration", "pass", why, {"failing_bands": []}, thresholds, rows)


def _sweep_violations(
    model: FactorAdditiveClassifier, features: pa.Table, rows: int = 100, seed: int = 0
) -> list[str]:
    """Move each directed feature over a grid for sample rows: the boosters' raw log-odds of
    default may never rise against the declared direction (as tests/test_model_gbm.py)."""
    frame = model._frame(features)
    S = len(model.segments_)
    X_all = model._matrix(frame, S)
    rng = np.random.default_rng(seed)
    take = rng.choice(X_all.shape[0], min(rows, X_all.shape[0]), replace=False)
    X = X_all[take]
    boosters = getattr(model, "boosters_", [model.booster_])
    bad = []
    for j, m in enumerate(model.features_):
        if m.sign == 0:
            continue
        col = X_all[:, j]
        col = col[np.isfinite(col)]
        if col.size == 0:
            continue
        grid = np.unique(np.quantile(col, np.linspace(0, 1, 41)))
        grid = np.concatenate([[grid[0] - 1], grid, [grid[-1] + 1]])
        sweep = np.repeat(X, grid.size, axis=0)
        sweep[:, j] = np.tile(grid, X.shape[0])
        raw = np.mean([b.predict(sweep, raw_score=True) for b in boosters], axis=0)
        steps = np.diff(raw.reshape(X.shape[0], grid.size), axis=1) * m.sign
        if steps.max() > 1e-9:
            bad.append(f"{m.name} ({m.direction}) rises by {steps.max():.3g} log-odds")
    return bad


def monotonicity(model: AdditiveModel, features: pa.Table) -> dict[str, Any]:
    """The compiled tables and (for boosted models) the trees themselves keep every
    feature's declared direction; a model that promises ``segment_order='increasing'``
    (a file moving to a later segment, e.g. thin -> established, never loses points on
    equal inputs) keeps that promise in its published tables."""
    from openbureau.model import FactorAdditiveClassifier
    from openbureau.model.monotone import monotone_violations, segment_order_violations

    bad = monotone_violations(model.shapes_, model.features_)
    directed = sum(1 for m in model.features_ if m.sign != 0)
    checked = "compiled tables"
    if isinstance(model, FactorAdditiveClassifier) and hasattr(model, "booster_"):
        bad += _sweep_violations(model, features)
        checked = "compiled tables and a sweep of the trees on out-of-time rows"
    ordered = getattr(model, "segment_order", "none") == "increasing"
    if ordered:
        gate = getattr(model, "network_gate_", None)
        bad += segment_order_violations(model.shapes_, model.intercept_, model.segments_, gate)
        checked += ", and the segment order " + " < ".join(model.segments_)
    values = {"directed_features": directed, "segment_order_checked": ordered, "violations": bad}
    if bad:
        why = f"{len(bad)} violation(s) of a declared direction or the segment order: {bad[0]}"
        return record("monotonicity", "fail", why, values)
    why = f"all {directed} features with a declared direction keep it ({checked})"
    return record("monotonicity", "pass", why, values)


def _tree_audit(model: FactorAdditiveClassifier) -> tuple[int, list[str]]:
    from openbureau.model.compile import audit_trees, reached_features
    from openbureau.model.gbm import merge_dumps

    boosters = getattr(model, "boosters_", [model.booster_])
    dump = merge_dumps([b.dump_model() for b in boosters])
    J = len(model.features_)
    S = len(model.segments_)
    seg_index = J if S > 1 else None
    factors = [m.factor for m in model.features_] + ["segment"]
    audit = audit_trees(dump, factors, seg_index=seg_index)
    problems = list(audit.violations)
    for t, info in enumerate(dump["tree_info"]):
        for s in range(S):
            feats = reached_features(info["tree_structure"], seg_index, s)
            mixed = {factors[f] for f in feats}
            if len(mixed) > 1:
                problems.append(f"tree {t} mixes factors {sorted(mixed)} in segment {s}")
    return audit.n_trees, problems


def additivity(
    model: AdditiveModel, manifest: dict[str, Any], scored: pa.Table, rules: GateRules
) -> dict[str, Any]:
    """Every tree stays within one factor per segment, and on the out-of-time sample the
    five sub-scores plus the published constant give the score (clipped at 350/950)."""
    from openbureau.model import FactorAdditiveClassifier

    problems: list[str] = []
    trees = 0
    if isinstance(model, FactorAdditiveClassifier) and hasattr(model, "booster_"):
        trees, problems = _tree_audit(model)
    score = _np(scored, "score")
    base = _np(scored, "base")
    parts = base + sum(_np(scored, f"points_{f}") for f in FACTORS)
    clipped = scored.column("clipped").to_numpy(zero_copy_only=False).astype(bool)
    gap = np.abs(np.clip(parts, 350.0, 950.0) - score)
    off = int((gap > rules.additivity_tol + 1e-9).sum())
    import pyarrow.compute as pc

    published = manifest["base_points"]
    segment = pc.dictionary_encode(scored.column("segment")).combine_chunks()
    codes = segment.indices.to_numpy(zero_copy_only=False)
    expected = np.array([published[s] for s in segment.dictionary.to_pylist()], dtype=float)
    base_off = int((np.abs(expected[codes] - base) > 0.051).sum())
    values = {
        "trees": trees,
        "tree_problems": problems[:10],
        "people": scored.num_rows,
        "clipped": int(clipped.sum()),
        "max_gap_points": float(gap.max()) if gap.size else 0.0,
        "rows_off": off,
        "base_off": base_off,
        "published_base": published,
    }
    thresholds = {"points": rules.additivity_tol}
    if problems:
        why = f"{len(problems)} tree(s) are not additive by factor: {problems[0]}"
        return record("factor_additivity", "fail", why, values, thresholds)
    if off or base_off:
        why = (
            f"on {off + base_off} of {scored.num_rows} people the five sub-scores plus the "
            f"published constant miss the score by up to {gap.max():.2f} points "
            f"(allowed {rules.additivity_tol:g})"
        )
        return record("factor_additivity", "fail", why, values, thresholds)
    trees_said = f"all {trees} trees use one factor per segment, and " if trees else ""
    why = (
        f"{trees_said}the five sub-scores plus the published constant give the score of all "
        f"{scored.num_rows} out-of-time people (largest gap {gap.max():.2f} points)"
    )
    return record("factor_additivity", "pass", why, values, thresholds)


def stability_bins(sample: np.ndarray, min_width: float, n_bins: int = 10) -> Any:
    """Decile bins of the champion's values, merged until each is ``min_width`` points wide.

    Sub-scores are measured from each model's worst bin, so two models' sub-scores may
    differ by a few points for everyone; on a narrow distribution, deciles a point apart
    would turn such an immaterial move into a huge PSI.
    """
    from openbureau.monitor import Bins
    from openbureau.monitor.stability import shares

    x = np.asarray(sample, dtype=float)
    x = x[np.isfinite(x)]
    quantiles = np.unique(np.quantile(x, np.linspace(0, 1, n_bins + 1)[1:-1]))
    edges: list[float] = []
    for e in quantiles:
        inside = e - x.min() >= min_width / 2 and x.max() - e >= min_width / 2
        if inside and (not edges or e - edges[-1] >= min_width):
            edges.append(float(e))
    return Bins(tuple(edges), tuple(float(s) for s in shares(x, tuple(edges))))


def stability(candidate: pa.Table, champion: pa.Table | None, rules: GateRules) -> dict[str, Any]:
    """PSI of the candidate's score and of each factor sub-score against the champion's, on
    the same population (bins cut on the champion's scores, at least ``psi_min_width``
    points wide); the mean move in points is reported beside each PSI."""
    from openbureau.monitor import psi

    thresholds = {"warn": rules.psi_warn, "fail": rules.psi_fail, "min_width": rules.psi_min_width}
    if champion is None:
        return record("score_stability", "not_applicable", NO_CHAMPION, {}, thresholds)
    values: dict[str, float] = {}
    shifts: dict[str, float] = {}
    for col in ["score", *(f"points_{f}" for f in FACTORS)]:
        if col not in candidate.column_names or col not in champion.column_names:
            continue
        name = col.removeprefix("points_")
        old, new = _np(champion, col), _np(candidate, col)
        values[name] = psi(stability_bins(old, rules.psi_min_width), new)
        shifts[name] = float(new.mean() - old.mean())
    worst = max(values, key=values.__getitem__)
    status = (
        "fail"
        if values[worst] >= rules.psi_fail
        else "warn"
        if values[worst] >= rules.psi_warn
        else "pass"
    )
    what = "the score" if worst == "score" else f"the {worst} sub-score"
    if status == "pass":
        why = (
            f"the candidate's scores are distributed like the champion's: largest PSI "
            f"{values[worst]:.3f} ({what}), below {rules.psi_warn:g}"
        )
    else:
        limit = rules.psi_fail if status == "fail" else rules.psi_warn
        moved = [k for k, v in values.items() if v >= limit]
        why = (
            f"PSI of {what} against the champion is {values[worst]:.3f}, at or above "
            f"{limit:g} ({'fails' if status == 'fail' else 'watch'}: {', '.join(moved)})"
        )
    moved_level = {k: v for k, v in shifts.items() if abs(v) >= rules.psi_min_width}
    if moved_level:  # a level shift the bins do not show: say it, the analyst judges it
        why += "; on average " + ", ".join(
            f"{'the score' if k == 'score' else k} moves {v:+.1f} points"
            for k, v in moved_level.items()
        )
    return record(
        "score_stability", status, why, {"psi": values, "mean_shift_points": shifts}, thresholds
    )


def policy(
    manifest: dict[str, Any],
    pack: Any,
    model_dir: Any,
    audit_columns: Sequence[str],
) -> dict[str, Any]:
    """Every input of the candidate is a catalog feature of a factor the pack allows, is no
    prohibited attribute and is no audit-group column; the model may score under the pack."""
    from openbureau.contract import prohibited_category
    from openbureau.features import feature_specs
    from openbureau.policy import PolicyError, check_model
    from openbureau.workflow.score import prepare_scoring

    catalog = {s.name: s.factor for s in feature_specs()}
    inputs = [(f["name"], f["factor"]) for f in manifest["features"]]
    problems = []
    for name, factor in inputs:
        hit = prohibited_category(name)
        if hit is not None:
            problems.append(f"input {name!r} carries {hit.category} (matched {hit.marker!r})")
        if name not in catalog:
            problems.append(f"input {name!r} is not in the feature catalog")
        elif catalog[name] != factor:
            problems.append(f"input {name!r} is a {catalog[name]} feature, not {factor}")
        if not pack.allows(factor):
            problems.append(
                f"input {name!r} belongs to the {factor} factor, which {pack.name} forbids"
            )
    audit = sorted({c.lower() for c in audit_columns} & {n.lower() for n, _ in inputs})
    problems += [f"input {c!r} is an audit-group column" for c in audit]
    from openbureau.model import FeatureMeta

    try:
        check_model(
            pack,
            [FeatureMeta(**f) for f in manifest["features"]],
            manifest["factor_max_points"],
            model_id=manifest["model_id"],
        )
        prepare_scoring(model_dir, pack)
    except (PolicyError, ValueError) as exc:
        problems.append(str(exc))
    problems = list(dict.fromkeys(problems))
    values = {
        "pack": pack.name,
        "pack_digest": pack.digest,
        "inputs": len(inputs),
        "factors": sorted({f for _, f in inputs}),
        "problems": problems,
    }
    if problems:
        why = f"{len(problems)} problem(s) under policy {pack.name}: {problems[0]}"
        return record("policy", "fail", why, values)
    why = (
        f"all {len(inputs)} inputs are catalog features of factors policy {pack.name} allows "
        f"({', '.join(values['factors'])}); none is a prohibited attribute or an audit group"
    )
    return record("policy", "pass", why, values)
