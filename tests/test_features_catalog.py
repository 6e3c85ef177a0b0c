"""The catalog's declarations: valid specs, consistent groups, a version that means something,
and definitions that compile for Spark as well as DuckDB."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator

import ibis
import ibis.config
import pytest

from openbureau.contract import FACTORS
from openbureau.features import (
    CATALOG,
    DIRECTIONS,
    GROUPS,
    FeatureGroup,
    FeatureParams,
    FeatureSpec,
    catalog_problems,
    catalog_version,
    feature_names,
    feature_specs,
)
from openbureau.features.build import _INPUT_SCHEMAS, DATES, PAIRS, query
from openbureau.features.frame import Frame, contract_tables
from openbureau.features.spec import KEYS

SCORED = ("history", "behavior", "capacity", "identity")


def test_at_least_forty_valid_unique_features_over_the_four_scored_factors() -> None:
    assert len(CATALOG) >= 40
    names = feature_names()
    assert len(set(names)) == len(names)
    for s in CATALOG:
        assert s.factor in FACTORS
        assert s.direction in DIRECTIONS
        assert isinstance(s.actionable, bool)
        assert s.reason.strip() and s.reason.strip().lower() != "other"
        assert s.reason[0].isupper() and len(s.reason.split()) >= 2, s.name
        assert s.description.strip()
    for factor in SCORED:
        specs = [s for s in CATALOG if s.factor == factor]
        assert len(specs) >= 5, factor
        assert any(s.direction != "none" for s in specs), factor


def test_catalog_order_is_factor_by_factor() -> None:
    assert feature_specs() == CATALOG
    order = [FACTORS.index(s.factor) for s in CATALOG]
    assert order == sorted(order)


@pytest.mark.parametrize(
    "change",
    [
        {"factor": "wealth"},
        {"direction": "up"},
        {"reason": "other"},
        {"reason": "  "},
        {"name": "MaxDPD"},
        {"description": ""},
        {"group": "derived"},  # derived needs a derive function
    ],
)
def test_invalid_specs_are_refused(change: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(CATALOG[0], **change)


def test_groups_and_specs_agree() -> None:
    assert catalog_problems() == []
    orphan = dataclasses.replace(CATALOG[0], name="never_computed")
    assert any("never_computed" in p for p in catalog_problems([*CATALOG, orphan], GROUPS))
    dropped = [s for s in CATALOG if s.name != "max_dpd_3m"]
    assert any("max_dpd_3m" in p for p in catalog_problems(dropped, GROUPS))
    twice = [*CATALOG, CATALOG[0]]
    assert any("duplicate" in p for p in catalog_problems(twice, GROUPS))


def _network_slot() -> tuple[FeatureSpec, FeatureGroup]:
    """A stand-in for issue 4: contacts with consent on both sides, known before as_of."""

    def build(frame: Frame) -> ibis.Table:
        r = frame.events("relationships", "since", person="person_a")
        consented = r.consent_a & r.consent_b
        return r.group_by(KEYS).aggregate(consented_contacts=r.person_b.count(where=consented))

    spec = FeatureSpec(
        "consented_contacts",
        "network",
        "Few contacts have agreed to share",
        "none",
        False,
        "Relationships with consent on both sides, known before as_of.",
        "relationships",
    )
    return spec, FeatureGroup("relationships", ("relationships",), build)


def test_the_catalog_accepts_network_features() -> None:
    network = [s for s in CATALOG if s.factor == "network"]
    assert network and {s.group for s in network} == {"network"}  # issue 4's features
    assert all(not s.actionable for s in network)
    spec, group = _network_slot()  # and a further network group still fits
    specs, groups = [*CATALOG, spec], [*GROUPS, group]
    assert catalog_problems(specs, groups) == []
    assert catalog_version(specs=specs, groups=groups) != catalog_version()


def test_catalog_version_is_stable_and_tracks_every_definition() -> None:
    v = catalog_version()
    assert v == catalog_version() == catalog_version(FeatureParams())
    assert len(v) == 16 and int(v, 16) >= 0
    reworded = [dataclasses.replace(CATALOG[0], reason="Late payments recently"), *CATALOG[1:]]
    assert catalog_version(specs=reworded) != v
    turned = [dataclasses.replace(CATALOG[0], direction="none"), *CATALOG[1:]]
    assert catalog_version(specs=turned) != v
    assert catalog_version(FeatureParams(public_record_expiry_years=10)) != v
    assert catalog_version(FeatureParams(thin_min_accounts=3)) != v

    # Same declarations, different computation: only the compiled SQL tells them apart.
    history = next(g for g in GROUPS if g.name == "public_records")

    def loose(frame: Frame) -> ibis.Table:
        wider = dataclasses.replace(frame.params, public_record_expiry_years=8)
        return history.build(dataclasses.replace(frame, params=wider))

    changed = [dataclasses.replace(g, build=loose) if g is history else g for g in GROUPS]
    assert catalog_version(groups=changed) != v


def test_catalog_version_is_the_same_in_fresh_processes() -> None:
    """Different hash seeds change set order; nothing of it may reach the version.
    Each process compiles afresh (the disk cache off), or it would only read one result."""
    code = "from openbureau.features import catalog_version; print(catalog_version())"
    versions = set()
    for seed in ("1", "2", "3", "4"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "OPENBUREAU_CACHE": "off"}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        )
        versions.add(out.stdout.strip())
    assert versions == {catalog_version()}


@pytest.fixture
def spark_options() -> Iterator[None]:
    """What the PySpark backend registers when pyspark is installed; compiling needs it."""

    class PySparkOptions(ibis.config.Config):
        treat_nan_as_null: bool = False

    saved = ibis.options.pyspark
    ibis.options.pyspark = PySparkOptions()
    yield
    ibis.options.pyspark = saved


@pytest.mark.parametrize("mode", [PAIRS, DATES])
def test_the_whole_matrix_compiles_for_spark(spark_options: None, mode: str) -> None:
    inputs = ibis.table(ibis.Schema.from_pyarrow(_INPUT_SCHEMAS[mode]), name="spine")
    horizon = 12 if mode == DATES else None
    expr = query(contract_tables(), inputs, mode, FeatureParams(), horizon)
    sql = str(ibis.to_sql(expr, dialect="pyspark"))
    assert "MAX_BY" in sql  # the portable arg-max, not DuckDB's FIRST(... ORDER BY)
    assert all(f"`{s.name}`" in sql for s in CATALOG)
