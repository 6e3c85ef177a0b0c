"""Artifacts: a plain-text folder that reproduces every score, sub-score and reason exactly."""

from __future__ import annotations

import json
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pyarrow as pa
import pytest

from openbureau.explain import counterfactual, explain
from openbureau.model import FactorAdditiveClassifier, WoEScorecardClassifier, load, save
from openbureau.model.synthetic import make_population


@pytest.fixture(scope="module")
def data():
    d = make_population(4_000, 8, seed=11)
    cols = d.table.to_pydict()
    for name in list(cols)[:3]:  # NaN in every bin kind, also where training had none
        cols[name][:40] = [np.nan] * 40
    return d, pa.table(cols)


def _same(a, b):
    for field in ("score", "base", "subscores", "clipped", "log_odds", "pd", "reason_index"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert np.array_equal(a.reason_points, b.reason_points, equal_nan=True)


@pytest.mark.parametrize("kind", ["gbm", "scorecard"])
def test_round_trip_reproduces_everything(tmp_path, data, kind):
    d, scored = data
    if kind == "gbm":
        model = FactorAdditiveClassifier(d.features, n_estimators=80, num_threads=1)
    else:
        model = WoEScorecardClassifier(d.features)
    model.fit(d.table, d.y)
    out = save(model, tmp_path / "m", catalog_version="catalog-2024.1")
    loaded = load(out)
    _same(model.score_breakdown(scored), loaded.score_breakdown(scored))
    assert np.array_equal(model.predict_proba(scored), loaded.predict_proba(scored))
    assert [e.to_dict() for e in explain(model, scored.slice(0, 20))] == [
        e.to_dict() for e in explain(loaded, scored.slice(0, 20))
    ]
    row = scored.slice(50, 1)
    assert counterfactual(model, row, 700) == counterfactual(loaded, row, 700)
    manifest = json.loads((out / "artifact.json").read_text())
    assert manifest["catalog_version"] == "catalog-2024.1"
    assert manifest["data_hash"] == model.data_hash_ and len(manifest["data_hash"]) == 64
    assert manifest["scaling"]["pdo"] == model.scaling_.pdo
    assert manifest["calibration_table"] and manifest["metrics"]["overall"]["rows"] == 4000
    assert manifest["openbureau_version"]
    card = (out / "model_card.md").read_text()
    assert manifest["model_id"] in card and "catalog-2024.1" in card
    assert json.loads((out / "model_card.json").read_text())["model_id"] == manifest["model_id"]
    for f in out.iterdir():  # plain text only: no pickles
        assert not f.read_bytes().startswith(b"\x80"), f.name
    if kind == "gbm":
        X = model._matrix(model._frame(scored), 2)
        assert np.array_equal(
            model.booster_.predict(X, raw_score=True), loaded.booster_.predict(X, raw_score=True)
        )


def test_load_refuses_tampered_files_and_save_refuses_to_overwrite(tmp_path, data):
    d, _ = data
    model = FactorAdditiveClassifier(d.features, n_estimators=20, calibration_cv=0).fit(
        d.table, d.y
    )
    out = save(model, tmp_path / "m", catalog_version="v1")
    with pytest.raises(FileExistsError):
        save(model, out, catalog_version="v1")
    save(model, out, catalog_version="v2", overwrite=True)
    tables = out / "tables.json"
    tables.write_text(tables.read_text().replace("0", "1", 1))
    with pytest.raises(ValueError, match="checksum"):
        load(out)
    with pytest.raises(TypeError, match="catalog_version"):
        save(model, tmp_path / "x", catalog_version="")
    with pytest.raises(ValueError, match="not fitted"):
        save(FactorAdditiveClassifier(), tmp_path / "y", catalog_version="v1")
