"""Jurisdiction policy packs: which factors a score may use, and the rules around it, as data.

A pack is a YAML file (shipped ones live in ``packs/``) checked into a frozen
``PolicyPack``. Laws differ on what a credit score may rest on; keeping those differences
in reviewable data, with the citation next to each rule, lets a lawyer read and change a
pack without reading the code, and lets a model artifact name the exact pack it obeyed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from openbureau.contract import FACTORS

DEFAULT_PACK = "us"
"""The pack used when none is named. ``us`` reproduces the platform's long-standing defaults
exactly (public records expire after 7 years as under FCRA, at most 4 adverse reasons as
under Reg B), so naming no pack changes no existing model or score; deployments should
always name their pack."""

MAX_POINTS = 600.0  # the width of the 350-950 scale: no factor cap can exceed it
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_TOP = {
    "name": True,
    "version": True,
    "jurisdiction": True,
    "summary": True,
    "allowed_factors": True,
    "forbidden_factors": False,
    "public_record_expiry_years": True,
    "reporting_limits_years": False,
    "adverse_action": True,
    "consent": True,
    "access_log_retention_years": True,
    "network": False,
    "citations": True,
    "notes": False,
}


class PolicyPackError(ValueError):
    """A pack file that does not check: names the file, the key and why."""

    def __init__(self, source: str, key: str, why: str) -> None:
        self.source, self.key, self.why = source, key, why
        super().__init__(f"{source}: {key}: {why}")


class PolicyError(ValueError):
    """An action a policy pack forbids (e.g. scoring with a forbidden factor)."""


@dataclass(frozen=True)
class Citation:
    """One legal source a pack rests on; ``article`` is None when we cite the law as a whole."""

    law: str
    what: str
    article: str | None = None
    url: str | None = None

    def label(self) -> str:
        return f"{self.law} {self.article}" if self.article else self.law


@dataclass(frozen=True)
class ForbiddenFactor:
    """A factor the pack forbids, with the short reference and the reason a person reads."""

    factor: str
    cite: str
    why: str


@dataclass(frozen=True)
class AdverseAction:
    """What a person is told when a score counts against them."""

    max_reasons: int
    human_review: bool
    notice: str


@dataclass(frozen=True)
class NetworkRules:
    """Limits on the network factor where it is allowed at all."""

    cap_points: float
    min_contacts: int


@dataclass(frozen=True)
class PolicyPack:
    """One jurisdiction's rules, checked; build it with ``load_pack``."""

    name: str
    version: int
    jurisdiction: str
    summary: str
    allowed_factors: tuple[str, ...]
    forbidden_factors: tuple[ForbiddenFactor, ...]
    public_record_expiry_years: int
    reporting_limits_years: tuple[tuple[str, int], ...]
    adverse_action: AdverseAction
    consent_partner_lookup: bool
    access_log_retention_years: int
    network: NetworkRules | None
    citations: tuple[Citation, ...]
    notes: str = ""
    source: str = ""

    def allows(self, factor: str) -> bool:
        """True when a score under this pack may use ``factor``."""
        if factor not in FACTORS:
            raise ValueError(f"unknown factor {factor!r}; factors are {FACTORS}")
        return factor in self.allowed_factors

    def forbidden(self, factor: str) -> ForbiddenFactor | None:
        """Why ``factor`` is forbidden, or None when it is allowed."""
        return next((f for f in self.forbidden_factors if f.factor == factor), None)

    def feature_params(self, base: Any = None) -> Any:
        """``base`` (a ``FeatureParams``) with this pack's public-record expiry and, where the
        network factor is allowed, its minimum number of contacts."""
        from openbureau.features import FeatureParams

        base = FeatureParams() if base is None else base
        changes: dict[str, Any] = {"public_record_expiry_years": self.public_record_expiry_years}
        network = getattr(base, "network", None)
        fields = (
            {f.name for f in dataclasses.fields(network)}
            if dataclasses.is_dataclass(network) and not isinstance(network, type)
            else set()
        )
        if self.network is not None and "min_contacts" in fields:
            changes["network"] = dataclasses.replace(
                network, min_contacts=self.network.min_contacts
            )
        return dataclasses.replace(base, **changes)

    def model_params(self, accepted: Any = ()) -> dict[str, Any]:
        """The model parameters this pack sets (network cap and minimum contacts), limited
        to the names in ``accepted`` (the model's parameter names)."""
        if self.network is None:
            return {}
        params = {
            "network_cap": self.network.cap_points,
            "network_min_contacts": self.network.min_contacts,
        }
        return {k: v for k, v in params.items() if k in set(accepted)}

    @property
    def digest(self) -> str:
        """16 hex digits of SHA-256 over the pack's content: changes exactly when a rule does."""
        blob = json.dumps(self._content(), sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def _content(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "jurisdiction": self.jurisdiction,
            "summary": self.summary,
            "allowed_factors": list(self.allowed_factors),
            "forbidden_factors": {
                f.factor: {"cite": f.cite, "why": f.why} for f in self.forbidden_factors
            },
            "public_record_expiry_years": self.public_record_expiry_years,
            "reporting_limits_years": dict(self.reporting_limits_years),
            "adverse_action": dataclasses.asdict(self.adverse_action),
            "consent": {"partner_lookup": self.consent_partner_lookup},
            "access_log_retention_years": self.access_log_retention_years,
            "network": None if self.network is None else dataclasses.asdict(self.network),
            "citations": [
                {k: v for k, v in dataclasses.asdict(c).items() if v is not None}
                for c in self.citations
            ],
            "notes": self.notes,
        }

    def record(self) -> dict[str, Any]:
        """Plain JSON-ready data for a model artifact, a model card or ``policy show --json``;
        ``PolicyPack.from_record`` reads it back."""
        return {**self._content(), "digest": self.digest, "source": self.source}

    @classmethod
    def from_record(cls, record: Mapping[str, Any], source: str = "record") -> PolicyPack:
        """The pack a record describes (e.g. the one stored with a model), checked again."""
        data = {k: v for k, v in record.items() if k not in ("digest", "source")}
        pack = parse_pack(data, str(record.get("source") or source))
        if "digest" in record and record["digest"] != pack.digest:
            raise PolicyPackError(source, "digest", "does not match the pack's content")
        return pack


# --- loading ------------------------------------------------------------------------------


def _packs_dir() -> Path:
    return Path(str(resources.files("openbureau.policy") / "packs"))


def available_packs() -> tuple[str, ...]:
    """Names of the packs shipped with openbureau."""
    return tuple(sorted(p.stem for p in _packs_dir().glob("*.yaml")))


def load_pack(name_or_path: str | Path | PolicyPack | None = None) -> PolicyPack:
    """A shipped pack by name (``eu``), a pack file by path, or the default pack for None."""
    if isinstance(name_or_path, PolicyPack):
        return name_or_path
    if name_or_path is None:
        name_or_path = DEFAULT_PACK
    text = str(name_or_path)
    is_path = isinstance(name_or_path, Path) or text.endswith((".yaml", ".yml")) or "/" in text
    if not is_path:
        if text not in available_packs():
            raise PolicyPackError(
                text,
                "name",
                f"no shipped policy pack of that name; available: {', '.join(available_packs())}"
                " (or give the path of a .yaml pack)",
            )
        path = _packs_dir() / f"{text}.yaml"
        source = f"builtin:{text}"
    else:
        path = Path(text)
        source = str(path)
        if not path.is_file():
            raise FileNotFoundError(f"policy pack {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyPackError(source, "(file)", f"not valid YAML: {exc}") from None
    pack = parse_pack(data, source)
    if not is_path and pack.name != text:
        raise PolicyPackError(source, "name", f"is {pack.name!r} but the file is {text}.yaml")
    return pack


# --- checking -----------------------------------------------------------------------------


class _Checker:
    """Reads typed values out of a parsed YAML mapping, raising precise errors."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, why: str) -> PolicyPackError:
        return PolicyPackError(self.source, key, why)

    def mapping(self, value: object, key: str, spec: Mapping[str, bool]) -> Mapping[str, Any]:
        """``spec`` maps each known key to whether it is required."""
        if not isinstance(value, Mapping):
            raise self.fail(key, f"must be a mapping, got {_kind(value)}")
        for k in value:
            if not isinstance(k, str) or k not in spec:
                known = ", ".join(spec)
                raise self.fail(_join(key, str(k)), f"unknown key (known keys: {known})")
        for k, required in spec.items():
            if required and k not in value:
                raise self.fail(_join(key, k), "is required")
        return value

    def text(self, value: object, key: str, *, one_line: bool = False) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {_kind(value)}")
        if not value.strip():
            raise self.fail(key, "must not be empty")
        if one_line and "\n" in value.strip():
            raise self.fail(key, "must be one line")
        return value.strip()

    def integer(self, value: object, key: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be an integer, got {_kind(value)}")
        if not low <= value <= high:
            raise self.fail(key, f"must be in {low}..{high}, got {value}")
        return value

    def number(self, value: object, key: str, low: float, high: float) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, got {_kind(value)}")
        if not low < value <= high:
            raise self.fail(key, f"must be above {low:g} and at most {high:g}, got {value}")
        return float(value)

    def boolean(self, value: object, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {_kind(value)}")
        return value

    def factor(self, value: object, key: str) -> str:
        name = self.text(value, key)
        if name not in FACTORS:
            raise self.fail(key, f"unknown factor {name!r}; factors are {', '.join(FACTORS)}")
        return name


def _kind(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


def _join(key: str, sub: str) -> str:
    return f"{key}.{sub}" if key else sub


def parse_pack(data: object, source: str) -> PolicyPack:
    """Check parsed YAML (or a record) and build the pack; the first problem is raised."""
    c = _Checker(source)
    top = c.mapping(data, "", _TOP)
    name = c.text(top["name"], "name")
    if not _NAME.match(name):
        raise c.fail("name", f"{name!r} must be lower-case letters, digits, '-' or '_'")
    allowed_raw = top["allowed_factors"]
    if not isinstance(allowed_raw, list):
        raise c.fail("allowed_factors", f"must be a list of factors, got {_kind(allowed_raw)}")
    allowed: list[str] = []
    for i, f in enumerate(allowed_raw):
        factor = c.factor(f, f"allowed_factors[{i}]")
        if factor in allowed:
            raise c.fail(f"allowed_factors[{i}]", f"{factor!r} is listed twice")
        allowed.append(factor)
    if not allowed:
        raise c.fail("allowed_factors", "must allow at least one factor")
    forbidden_raw = c.mapping(
        top.get("forbidden_factors") or {}, "forbidden_factors", dict.fromkeys(FACTORS, False)
    )
    forbidden: list[ForbiddenFactor] = []
    for factor, rule in forbidden_raw.items():
        key = f"forbidden_factors.{factor}"
        if factor in allowed:
            raise c.fail(key, f"{factor!r} is also in allowed_factors")
        rule = c.mapping(rule, key, {"cite": True, "why": True})
        forbidden.append(
            ForbiddenFactor(
                factor,
                c.text(rule["cite"], f"{key}.cite", one_line=True),
                c.text(rule["why"], f"{key}.why"),
            )
        )
    undecided = [f for f in FACTORS if f not in allowed and f not in forbidden_raw]
    if undecided:
        raise c.fail(
            "allowed_factors",
            f"every factor must be allowed or forbidden (with a reason); undecided: {undecided}",
        )
    expiry = c.integer(top["public_record_expiry_years"], "public_record_expiry_years", 1, 100)
    limits_raw = top.get("reporting_limits_years") or {}
    if not isinstance(limits_raw, Mapping):
        raise c.fail("reporting_limits_years", f"must be a mapping, got {_kind(limits_raw)}")
    limits = tuple(
        (c.text(k, "reporting_limits_years"), c.integer(v, f"reporting_limits_years.{k}", 1, 100))
        for k, v in limits_raw.items()
    )
    aa = c.mapping(
        top["adverse_action"],
        "adverse_action",
        {"max_reasons": True, "human_review": True, "notice": True},
    )
    adverse = AdverseAction(
        c.integer(aa["max_reasons"], "adverse_action.max_reasons", 1, 10),
        c.boolean(aa["human_review"], "adverse_action.human_review"),
        c.text(aa["notice"], "adverse_action.notice"),
    )
    consent = c.mapping(top["consent"], "consent", {"partner_lookup": True})
    if c.boolean(consent["partner_lookup"], "consent.partner_lookup") is not True:
        raise c.fail(
            "consent.partner_lookup",
            "must be true: openbureau never releases a score to a partner without consent",
        )
    network: NetworkRules | None = None
    if "network" in allowed:
        if top.get("network") is None:
            raise c.fail("network", "is required when the network factor is allowed")
        net = c.mapping(top["network"], "network", {"cap_points": True, "min_contacts": True})
        network = NetworkRules(
            c.number(net["cap_points"], "network.cap_points", 0.0, MAX_POINTS),
            c.integer(net["min_contacts"], "network.min_contacts", 1, 1000),
        )
    elif top.get("network") is not None:
        raise c.fail("network", "is set but the pack forbids the network factor")
    cites_raw = top["citations"]
    if not isinstance(cites_raw, list) or not cites_raw:
        raise c.fail("citations", f"must be a non-empty list, got {_kind(cites_raw)}")
    citations = []
    for i, item in enumerate(cites_raw):
        key = f"citations[{i}]"
        m = c.mapping(item, key, {"law": True, "article": False, "url": False, "what": True})
        url = None if m.get("url") is None else c.text(m["url"], f"{key}.url", one_line=True)
        if url is not None and not url.startswith("https://"):
            raise c.fail(f"{key}.url", f"must be an https:// address, got {url!r}")
        article = m.get("article")
        if article is not None:
            article = c.text(
                str(article) if isinstance(article, int) else article, f"{key}.article"
            )
        citations.append(
            Citation(
                c.text(m["law"], f"{key}.law", one_line=True),
                c.text(m["what"], f"{key}.what"),
                article,
                url,
            )
        )
    notes = "" if top.get("notes") is None else c.text(top["notes"], "notes")
    return PolicyPack(
        name=name,
        version=c.integer(top["version"], "version", 1, 1_000_000),
        jurisdiction=c.text(top["jurisdiction"], "jurisdiction", one_line=True),
        summary=c.text(top["summary"], "summary", one_line=True),
        allowed_factors=tuple(f for f in FACTORS if f in allowed),
        forbidden_factors=tuple(sorted(forbidden, key=lambda f: FACTORS.index(f.factor))),
        public_record_expiry_years=expiry,
        reporting_limits_years=limits,
        adverse_action=adverse,
        consent_partner_lookup=True,
        access_log_retention_years=c.integer(
            top["access_log_retention_years"], "access_log_retention_years", 1, 100
        ),
        network=network,
        citations=tuple(citations),
        notes=notes,
        source=source,
    )
