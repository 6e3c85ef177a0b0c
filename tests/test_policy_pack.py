"""Policy packs: the shipped packs say what the law says, and bad pack files fail precisely."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import yaml

from openbureau.features import FeatureParams
from openbureau.model.meta import FeatureMeta
from openbureau.policy import (
    DEFAULT_PACK,
    PolicyError,
    PolicyPack,
    PolicyPackError,
    apply_policy,
    available_packs,
    check_model,
    load_pack,
)

PACKS = Path(__file__).parents[1] / "src" / "openbureau" / "policy" / "packs"


def base_pack() -> dict:
    return yaml.safe_load((PACKS / "us.yaml").read_text(encoding="utf-8"))


def write(tmp_path: Path, data: object, name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def metas(counts: dict[str, int]) -> list[FeatureMeta]:
    return [
        FeatureMeta(f"{factor}_{i}", factor, f"{factor} {i} is unfavourable")
        for factor, n in counts.items()
        for i in range(n)
    ]


def test_shipped_packs_load_and_the_default_is_us():
    assert {"eu", "us", "cn"} <= set(available_packs())
    for name in available_packs():
        pack = load_pack(name)
        assert pack.name == name and pack.source == f"builtin:{name}"
        assert pack.consent_partner_lookup is True
    assert DEFAULT_PACK == "us"
    assert load_pack(None) == load_pack("us")


def test_eu_forbids_the_network_factor_citing_ccd2_and_gdpr():
    eu = load_pack("eu")
    assert not eu.allows("network") and eu.network is None
    assert all(eu.allows(f) for f in ("history", "behavior", "capacity", "identity"))
    assert eu.forbidden("network").cite == "Directive (EU) 2023/2225 art. 18(3)"
    labels = {c.label() for c in eu.citations}
    assert "Directive (EU) 2023/2225 (Consumer Credit Directive) art. 18(3)" in labels
    assert "Regulation (EU) 2016/679 (GDPR) art. 22" in labels
    assert eu.adverse_action.human_review is True
    with pytest.raises(ValueError, match="unknown factor"):
        eu.allows("astrology")


def test_us_and_cn_record_their_reporting_limits_and_cap_the_network_factor():
    us, cn = load_pack("us"), load_pack("cn")
    limits = dict(us.reporting_limits_years)
    assert limits["bankruptcy"] == 10 and limits["collection_or_charge_off"] == 7
    assert us.public_record_expiry_years == 7 and us.adverse_action.max_reasons == 4
    assert us.adverse_action.human_review is False
    assert cn.public_record_expiry_years == 5
    assert any(c.article == "art. 16" for c in cn.citations)
    assert us.allows("network") and cn.allows("network")
    assert 0 < us.network.cap_points <= cn.network.cap_points <= 600


def test_feature_params_carry_the_expiry_and_network_contacts_and_keep_the_rest():
    base = FeatureParams(satisfied_record_weight=0.25)
    us = load_pack("us").feature_params()
    assert us.public_record_expiry_years == FeatureParams().public_record_expiry_years == 7
    cn = load_pack("cn").feature_params(base)
    assert cn.public_record_expiry_years == 5 and cn.satisfied_record_weight == 0.25
    eu = load_pack("eu").feature_params(base)
    assert eu.public_record_expiry_years == 3
    network = getattr(FeatureParams(), "network", None)
    if network is not None:  # the catalog's network settings (issue 4)
        assert us.network.min_contacts == 5 and cn.network.min_contacts == 3
        assert eu.network == network  # forbidden: left as it was


def test_feature_params_only_touch_network_settings_a_catalog_has():
    @dataclasses.dataclass(frozen=True)
    class Net:
        min_contacts: int = 1
        restart: float = 0.15

    @dataclasses.dataclass(frozen=True)
    class Params:
        public_record_expiry_years: int = 7
        network: Net = Net()

    @dataclasses.dataclass(frozen=True)
    class Old:
        public_record_expiry_years: int = 7

    assert load_pack("us").feature_params(Params()) == Params(7, Net(5, 0.15))
    assert load_pack("eu").feature_params(Params()) == Params(3, Net(1, 0.15))
    assert load_pack("cn").feature_params(Old()) == Old(5)


def test_model_params_follow_the_network_rules():
    accepted = {"network_cap": 60.0, "network_min_contacts": 3, "n_estimators": 600}
    assert load_pack("us").model_params(accepted) == {
        "network_cap": 40.0,
        "network_min_contacts": 5,
    }
    assert load_pack("eu").model_params(accepted) == {}
    assert load_pack("cn").model_params({"n_estimators": 1}) == {}


def test_record_round_trips_and_the_digest_follows_the_content(tmp_path):
    eu = load_pack("eu")
    assert PolicyPack.from_record(eu.record()) == eu
    data = base_pack()
    data["access_log_retention_years"] = 3
    changed = load_pack(write(tmp_path, data))
    assert changed.digest != load_pack("us").digest
    tampered = {**eu.record(), "digest": "0" * 16}
    with pytest.raises(PolicyPackError, match="digest"):
        PolicyPack.from_record(tampered)


def _set(path: str, value: object):
    def edit(d: dict) -> None:
        *parents, last = path.split(".")
        for p in parents:
            d = d[p]
        if value is _DELETE:
            del d[last]
        else:
            d[last] = value

    return edit


_DELETE = object()

BAD = [
    (_set("colour", "red"), "colour", "unknown key"),
    (_set("allowed_factors", ["history", "astrology"]), "allowed_factors[1]", "unknown factor"),
    (
        _set("allowed_factors", ["history", "history"]),
        "allowed_factors[1]",
        "listed twice",
    ),
    (_set("allowed_factors", "history"), "allowed_factors", "must be a list"),
    (_set("allowed_factors", []), "allowed_factors", "at least one factor"),
    (
        _set("allowed_factors", ["history", "behavior", "capacity", "network"]),
        "allowed_factors",
        "undecided: ['identity']",
    ),
    (_set("public_record_expiry_years", "seven"), "public_record_expiry_years", "integer"),
    (_set("public_record_expiry_years", 0), "public_record_expiry_years", "1..100"),
    (_set("adverse_action.max_reasons", True), "adverse_action.max_reasons", "integer"),
    (_set("adverse_action.max_reasons", 0), "adverse_action.max_reasons", "1..10"),
    (_set("adverse_action.human_review", "yes"), "adverse_action.human_review", "true or false"),
    (_set("adverse_action.tone", "kind"), "adverse_action.tone", "unknown key"),
    (_set("adverse_action.notice", _DELETE), "adverse_action.notice", "is required"),
    (_set("consent.partner_lookup", False), "consent.partner_lookup", "must be true"),
    (_set("network", _DELETE), "network", "required when the network factor is allowed"),
    (_set("network.cap_points", 700), "network.cap_points", "at most 600"),
    (_set("network.min_contacts", 2.5), "network.min_contacts", "integer"),
    (
        _set("reporting_limits_years.bankruptcy", "ten"),
        "reporting_limits_years.bankruptcy",
        "integer",
    ),
    (_set("summary", "two\nlines"), "summary", "one line"),
    (_set("jurisdiction", ""), "jurisdiction", "must not be empty"),
    (_set("version", "1"), "version", "integer"),
    (_set("name", "US Pack"), "name", "lower-case"),
    (_set("citations", []), "citations", "non-empty list"),
    (_set("citations", [{"law": "FCRA"}]), "citations[0].what", "is required"),
    (
        _set("citations", [{"law": "FCRA", "what": "x", "url": "http://example.org"}]),
        "citations[0].url",
        "https://",
    ),
    (
        _set("forbidden_factors", {"network": {"cite": "x", "why": "y"}}),
        "forbidden_factors.network",
        "also in allowed_factors",
    ),
    (
        _set("forbidden_factors", {"gossip": {"cite": "x", "why": "y"}}),
        "forbidden_factors.gossip",
        "unknown key",
    ),
]


@pytest.mark.parametrize(("edit", "key", "why"), BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_every_validation_error_names_file_key_and_why(tmp_path, edit, key, why):
    data = copy.deepcopy(base_pack())
    edit(data)
    path = write(tmp_path, data)
    with pytest.raises(PolicyPackError) as info:
        load_pack(path)
    assert info.value.key == key
    assert why in info.value.why
    assert str(info.value).startswith(f"{path}: {key}: ")


def test_forbidding_needs_a_reason_and_network_rules_need_the_factor(tmp_path):
    data = base_pack()
    data["allowed_factors"] = ["history", "behavior", "capacity", "identity"]
    data["forbidden_factors"] = {"network": {"cite": "a law"}}
    with pytest.raises(PolicyPackError, match=r"forbidden_factors\.network\.why: is required"):
        load_pack(write(tmp_path, data))
    data["forbidden_factors"]["network"]["why"] = "because"
    with pytest.raises(PolicyPackError, match="network: is set but the pack forbids"):
        load_pack(write(tmp_path, data))
    del data["network"]
    assert not load_pack(write(tmp_path, data)).allows("network")


def test_unknown_names_missing_files_and_bad_yaml(tmp_path):
    with pytest.raises(PolicyPackError, match="available: cn, eu, us"):
        load_pack("atlantis")
    with pytest.raises(FileNotFoundError):
        load_pack(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(PolicyPackError, match="not valid YAML"):
        load_pack(bad)
    top = tmp_path / "list.yaml"
    top.write_text("- a\n- b\n")
    with pytest.raises(PolicyPackError, match="must be a mapping, got list"):
        load_pack(top)


def test_packs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        load_pack("eu").name = "us"  # type: ignore[misc]


def test_eu_drops_the_network_features_and_says_so():
    features = metas({"history": 3, "capacity": 2, "network": 8})
    decision = apply_policy(features, load_pack("eu"))
    assert [m.factor for m in decision.kept] == ["history"] * 3 + ["capacity"] * 2
    assert len(decision.dropped) == 8 and {d.factor for d in decision.dropped} == {"network"}
    assert decision.dropped[0].reason.startswith("Directive (EU) 2023/2225 art. 18(3): ")
    assert decision.message == (
        "policy eu forbids the network factor (Directive (EU) 2023/2225 art. 18(3)): "
        "dropped 8 features"
    )
    assert decision.record()["dropped_factors"] == {"network": 8}
    one = apply_policy(metas({"history": 1, "network": 1}), load_pack("eu"))
    assert one.message.endswith("dropped 1 feature")
    none = apply_policy(metas({"history": 1}), load_pack("eu"))
    assert none.message.endswith("no features to drop") and not none.dropped


def test_us_keeps_every_factor():
    features = metas({"history": 2, "network": 2})
    decision = apply_policy(features, load_pack("us"))
    assert decision.kept == tuple(features) and not decision.dropped
    assert decision.message == "policy us allows all five factors: kept 4 features"


def test_check_model_refuses_forbidden_factors_and_a_network_factor_over_the_cap():
    features = metas({"history": 2, "network": 6})
    with pytest.raises(
        PolicyError, match=r"policy eu forbids the network factor .* uses 6 network"
    ):
        check_model(load_pack("eu"), features, model_id="m1")
    check_model(load_pack("us"), features, {"thin": {"network": 40.04}})  # cap, up to rounding
    with pytest.raises(
        PolicyError, match=r"caps the network factor at 40 points.*55\.0 points \(thin"
    ):
        check_model(
            load_pack("us"), features, {"established": {"network": 12}, "thin": {"network": 55}}
        )
