"""The factor map: which table column feeds which factor, in which direction, and why.

A factor map is a small YAML file a lender writes once per table. It says, for every
column, either which of the five factors it feeds (with its direction and the reason text a
person sees) or why it is ignored; it may declare derived features (DuckDB SQL expressions
over the table's columns) and segments (profiles whose feature shapes differ). Everything
is checked before a model is fitted, with messages that name the file and the key.

    label: SeriousDlqin2yrs             # optional: default for --label
    positive: 1                         # optional: the label value that means default
    id: ID                              # optional: default for --id
    factors:
      LIMIT_BAL: {factor: capacity, direction: increasing, reason: "Low credit limit"}
      EDUCATION: {factor: identity, direction: none, reason: "Education on file"}
      HOUSING:   {factor: identity, direction: none, reason: "Housing situation"}
      STATUS:    {factor: history, direction: increasing, reason: "Account status",
                  categories: [overdrawn, none, positive]}   # text, ordered worst to best
    derived:
      TOTAL_LATE: {sql: '"LATE_30" + "LATE_60"', factor: history, direction: decreasing,
                   reason: "Late payments"}
    ignore: {ID: identifier, SEX: protected attribute}     # or a plain list
    segment:                            # first matching rule wins; the last has no 'when'
      - {name: renter, when: '"HOUSING" = 0'}
      - {name: other}
    model: {learning_rate: 0.05}        # optional FactorAdditiveClassifier parameters

Checked here, from the columns each SQL expression reads (DuckDB's own parser):

* no derived feature or segment rule reads a prohibited column (the contract's
  ``prohibited_category``) or one the map ignores as protected: a protected trait may not
  reach a model through an expression either;
* no segment rule reads an input with a direction (a directional feature, or a table column
  a directional derived feature is computed from). Rows crossing a segment boundary get
  another segment's shapes, so a rule on utilisation could raise the score when
  utilisation rises; monotonicity is promised over the whole model, not per segment.
  Unless the map sets ``segment_order: increasing``: segments are then listed from the
  riskiest to the safest, the model keeps every segment at or above the one before it on
  equal inputs (the segment is a monotone input of every tree), and the table check
  (``table.segment_order_violations``) makes sure that moving a directional input the
  favourable way never sends a row to an earlier segment. Raw columns that directional
  derived features are computed from stay refused either way.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openbureau.contract import prohibited_category
from openbureau.model.meta import DIRECTIONS, FACTORS, SEGMENT_ORDERS, FeatureMeta

TOP_KEYS = (
    "label",
    "positive",
    "id",
    "factors",
    "derived",
    "ignore",
    "segment",
    "segment_order",
    "model",
)
FEATURE_KEYS = ("factor", "direction", "reason", "actionable", "description", "categories")
DERIVED_KEYS = (*FEATURE_KEYS, "sql")
SEGMENT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\- ]{0,39}$")
MAX_SEGMENTS = 8


class FactorMapError(ValueError):
    """A factor map that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class MappedFeature:
    """One model input: a table column or a derived expression, with its metadata."""

    meta: FeatureMeta
    categories: tuple[str, ...] | None = None  # text values, lowest to highest
    sql: str | None = None  # a derived feature's DuckDB expression
    reads: tuple[str, ...] = ()  # columns the expression reads (derived features)

    @property
    def name(self) -> str:
        return self.meta.name


@dataclass(frozen=True)
class SegmentRule:
    name: str
    when: str | None  # DuckDB boolean expression; None = every remaining row
    reads: tuple[str, ...] = ()  # columns the rule reads


@dataclass(frozen=True)
class FactorMap:
    features: tuple[MappedFeature, ...]
    ignore: dict[str, str] = field(default_factory=dict)  # column -> why
    segments: tuple[SegmentRule, ...] = ()
    label: str | None = None
    positive: Any = None
    id: str | None = None
    model: dict[str, Any] = field(default_factory=dict)
    source: str = "<factor map>"
    segment_order: str = "none"  # 'increasing': segments listed from riskiest to safest

    @property
    def metas(self) -> list[FeatureMeta]:
        return [f.meta for f in self.features]

    @property
    def columns(self) -> list[str]:
        """Table columns the model reads directly (derived features excluded)."""
        return [f.name for f in self.features if f.sql is None]

    @property
    def derived(self) -> list[MappedFeature]:
        return [f for f in self.features if f.sql is not None]

    @property
    def segment_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.segments)


def _fail(source: str, where: str, why: str) -> FactorMapError:
    return FactorMapError(f"{source}: {where}: {why}")


def _str(source: str, where: str, value: object, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise _fail(source, where, f"must be a string, got {type(value).__name__} {value!r}")
    if not empty and not value.strip():
        raise _fail(source, where, "must not be empty")
    return value


def _nodes(node: object) -> Iterator[dict[str, Any]]:
    stack = [node]
    while stack:
        nd = stack.pop()
        if isinstance(nd, dict):  # depth first, in reading order
            yield nd
            stack.extend(reversed(list(nd.values())))
        elif isinstance(nd, list):
            stack.extend(reversed(nd))


def sql_reads(sql: str) -> tuple[tuple[str, ...], list[float]]:
    """Columns a DuckDB expression reads, and the numbers it compares with.

    Parsed by DuckDB itself (``json_serialize_sql``), so quoted and bare identifiers, any
    case and ``t.col`` all count. Raises ValueError for text that is not one expression or
    that reads columns by a star or a pattern (``*``, ``COLUMNS(...)``): what such an
    expression reads cannot be checked.
    """
    import duckdb

    con = duckdb.connect()
    try:
        raw = con.execute("SELECT json_serialize_sql(?)", ["SELECT (" + sql + "\n)"]).fetchone()
    finally:
        con.close()
    tree: dict[str, Any] = json.loads(raw[0]) if raw else {"error": True}
    if tree.get("error"):
        why = str(tree.get("error_message", "cannot be parsed")).splitlines()[0]
        raise ValueError(f"is not a DuckDB expression: {why}")
    statements = tree.get("statements", [])
    if len(statements) != 1 or len(statements[0]["node"].get("select_list", [])) != 1:
        raise ValueError("must be exactly one expression")
    cols: list[str] = []
    numbers: list[float] = []
    for nd in _nodes(statements[0]):
        cls = nd.get("class")
        if cls == "STAR":
            raise ValueError("reads columns by a star or a pattern; name every column it reads")
        if cls == "COLUMN_REF" and nd.get("column_names"):
            name = str(nd["column_names"][-1])
            if name not in cols:
                cols.append(name)
        if cls == "CONSTANT":
            lit = nd.get("value", nd.get("literal")) or {}
            text = lit.get("text", lit.get("value"))
            with contextlib.suppress(TypeError, ValueError):  # text: not a number
                numbers.append(float(text if text is not None else ""))
    return tuple(cols), numbers


def _reads(source: str, where: str, sql: str) -> tuple[str, ...]:
    try:
        return sql_reads(sql)[0]
    except ValueError as exc:
        raise _fail(source, where, f"{sql!r} {exc}") from None


def _protected_reason(why: str) -> bool:
    """An ignore reason that declares the column protected (or a proxy of a protected trait)."""
    words = set(re.findall(r"[a-z]+", why.lower()))
    return bool(words & {"protected", "proxy"})


def _check_reads(
    source: str,
    features: list[MappedFeature],
    ignore: dict[str, str],
    segments: tuple[SegmentRule, ...],
    ordered: bool = False,
) -> None:
    """Refuse expressions that read prohibited columns, and segment rules on directional inputs."""
    fold = {f.name.lower(): f for f in features}
    ignored = {c.lower(): (c, why) for c, why in ignore.items()}
    readers: list[tuple[str, tuple[str, ...]]] = [
        (f"derived.{f.name}.sql", f.reads) for f in features if f.sql is not None
    ]
    readers += [
        (f"segment[{i}] ({r.name}).when", r.reads) for i, r in enumerate(segments) if r.when
    ]
    for where, reads in readers:
        for col in reads:
            hit = prohibited_category(col)
            if hit is not None:
                raise _fail(
                    source,
                    where,
                    f"reads column {col!r}, which carries a prohibited attribute "
                    f"({hit.category}, matched {hit.marker!r}); a prohibited attribute may "
                    "feed no factor and no segment, not even through an expression",
                )
            name, why = ignored.get(col.lower(), (col, ""))
            if _protected_reason(why):
                raise _fail(
                    source,
                    where,
                    f"reads column {name!r}, which this map ignores as {why!r}; a protected "
                    "attribute may feed no factor and no segment, not even through an "
                    "expression",
                )
    # raw columns (not model features) that directional derived features are computed from
    feeds: dict[str, str] = {}
    for f in features:
        if f.sql is not None and f.meta.direction != "none":
            for col in f.reads:
                if col.lower() not in fold:
                    feeds.setdefault(col.lower(), f.name)
    for i, rule in enumerate(segments):
        where = f"segment[{i}] ({rule.name}).when"
        for col in rule.reads:
            mapped = fold.get(col.lower())
            if mapped is not None and mapped.meta.direction != "none" and not ordered:
                section = "derived" if mapped.sql is not None else "factors"
                raise _fail(
                    source,
                    where,
                    f"reads {col!r}, which has direction {mapped.meta.direction!r} "
                    f"({section}.{mapped.name}); rows crossing the segment boundary would take "
                    "another segment's shapes, which can move the score against that "
                    "direction. Segment on inputs without a direction, or list the "
                    "segments from riskiest to safest and set `segment_order: increasing`",
                )
            if mapped is None and col.lower() in feeds:
                d = fold[feeds[col.lower()].lower()]
                raise _fail(
                    source,
                    where,
                    f"reads column {col!r}, from which derived.{d.name} (direction "
                    f"{d.meta.direction!r}) is computed; rows crossing the segment boundary "
                    "would take another segment's shapes, which can move the score against "
                    "that direction. Segment on inputs without a direction",
                )


def _feature(source: str, name: str, spec: object, *, derived: bool) -> MappedFeature:
    section = "derived" if derived else "factors"
    where = f"{section}.{name}"
    if not isinstance(spec, Mapping):
        raise _fail(
            source, where, f"must be a mapping with factor, direction, reason; got {spec!r}"
        )
    allowed = DERIVED_KEYS if derived else FEATURE_KEYS
    unknown = sorted(str(k) for k in spec if k not in allowed)
    if unknown:
        raise _fail(source, where, f"unknown key(s) {unknown}; allowed: {list(allowed)}")
    for key in ("factor", "reason", *(("sql",) if derived else ())):
        if key not in spec:
            raise _fail(source, where, f"lacks {key!r}")
    factor = _str(source, f"{where}.factor", spec["factor"])
    if factor not in FACTORS:
        raise _fail(source, f"{where}.factor", f"{factor!r} is not one of {', '.join(FACTORS)}")
    direction = _str(source, f"{where}.direction", spec.get("direction", "none"))
    if direction not in DIRECTIONS:
        raise _fail(
            source, f"{where}.direction", f"{direction!r} is not one of {', '.join(DIRECTIONS)}"
        )
    reason = _str(source, f"{where}.reason", spec["reason"])
    description = _str(source, f"{where}.description", spec.get("description", ""), empty=True)
    actionable = spec.get("actionable", False)
    if not isinstance(actionable, bool):
        raise _fail(source, f"{where}.actionable", f"must be true or false, got {actionable!r}")
    categories = spec.get("categories")
    if categories is not None:
        if not isinstance(categories, list) or not categories:
            raise _fail(source, f"{where}.categories", "must be a non-empty list of values")
        cats = tuple(str(c) for c in categories)
        if len(set(cats)) != len(cats):
            dup = sorted({c for c in cats if cats.count(c) > 1})
            raise _fail(source, f"{where}.categories", f"lists {dup} more than once")
        categories = cats
    sql = _str(source, f"{where}.sql", spec["sql"]) if derived else None
    reads = _reads(source, f"{where}.sql", sql) if sql is not None else ()
    meta = FeatureMeta(name, factor, reason, direction, actionable, description)
    return MappedFeature(meta, categories, sql, reads)


def _ignore(source: str, raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, list):
        return {_str(source, "ignore", c): "" for c in raw}
    if isinstance(raw, Mapping):
        return {
            _str(source, "ignore", c): "" if why is None else _str(source, f"ignore.{c}", why)
            for c, why in raw.items()
        }
    raise _fail(source, "ignore", f"must be a list of columns or a mapping, got {raw!r}")


def _segments(source: str, raw: object) -> tuple[SegmentRule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) < 2:
        raise _fail(source, "segment", "must be a list of at least two {name, when} rules")
    if len(raw) > MAX_SEGMENTS:
        raise _fail(source, "segment", f"at most {MAX_SEGMENTS} segments, got {len(raw)}")
    rules = []
    for i, item in enumerate(raw):
        where = f"segment[{i}]"
        if not isinstance(item, Mapping) or "name" not in item:
            raise _fail(source, where, f"must be a mapping with 'name' and 'when', got {item!r}")
        unknown = sorted(str(k) for k in item if k not in ("name", "when"))
        if unknown:
            raise _fail(source, where, f"unknown key(s) {unknown}; allowed: ['name', 'when']")
        name = _str(source, f"{where}.name", item["name"])
        if not SEGMENT_NAME.match(name):
            raise _fail(source, f"{where}.name", f"{name!r} must be 1-40 letters, digits, _.- ")
        when = item.get("when")
        last = i == len(raw) - 1
        if when is None and not last:
            raise _fail(source, f"{where}.when", "only the last rule may omit 'when'")
        if when is None:
            rules.append(SegmentRule(name, None))
            continue
        when = _str(source, f"{where}.when", when)
        rules.append(SegmentRule(name, when, _reads(source, f"{where}.when", when)))
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise _fail(source, "segment", f"segment names must be distinct, got {names}")
    return tuple(rules)


def parse_factor_map(data: object, source: str = "<factor map>") -> FactorMap:
    """Check a factor map already read from YAML (a dict) and freeze it."""
    if not isinstance(data, Mapping):
        raise _fail(source, "top level", f"must be a mapping, got {type(data).__name__}")
    unknown = sorted(str(k) for k in data if k not in TOP_KEYS)
    if unknown:
        raise _fail(source, "top level", f"unknown key(s) {unknown}; allowed: {list(TOP_KEYS)}")
    raw_factors = data.get("factors")
    if not isinstance(raw_factors, Mapping) or not raw_factors:
        raise _fail(source, "factors", "must map at least one column to a factor")
    features = [_feature(source, str(k), v, derived=False) for k, v in raw_factors.items()]
    raw_derived = data.get("derived") or {}
    if not isinstance(raw_derived, Mapping):
        raise _fail(source, "derived", f"must be a mapping of name -> spec, got {raw_derived!r}")
    features += [_feature(source, str(k), v, derived=True) for k, v in raw_derived.items()]
    ignore = _ignore(source, data.get("ignore"))
    names = [f.name for f in features]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise _fail(source, "derived", f"{twice} named both as a column and a derived feature")
    both = sorted(set(names) & set(ignore))
    if both:
        raise _fail(source, "ignore", f"{both} are both mapped to a factor and ignored")
    for f in features:
        hit = prohibited_category(f.name)
        if hit is not None:
            section = "derived" if f.sql else "factors"
            raise _fail(
                source,
                f"{section}.{f.name}",
                f"carries a prohibited attribute ({hit.category}, matched {hit.marker!r}); "
                "it may be ignored but never feed a factor",
            )
    segments = _segments(source, data.get("segment"))
    order = _str(source, "segment_order", data.get("segment_order", "none"))
    if order not in SEGMENT_ORDERS:
        raise _fail(source, "segment_order", f"{order!r} is not one of {list(SEGMENT_ORDERS)}")
    if order != "none" and not segments:
        raise _fail(source, "segment_order", "orders segments, but the map has none")
    _check_reads(source, features, ignore, segments, ordered=order == "increasing")
    model = data.get("model") or {}
    if not isinstance(model, Mapping):
        raise _fail(source, "model", f"must be a mapping of model parameters, got {model!r}")
    if "segment_order" in model:
        raise _fail(source, "model.segment_order", "set it with the top-level segment_order")
    if order != "none":
        model = {**model, "segment_order": order}
    label = data.get("label")
    id_col = data.get("id")
    return FactorMap(
        features=tuple(features),
        ignore=ignore,
        segments=segments,
        label=None if label is None else _str(source, "label", label),
        positive=data.get("positive"),
        id=None if id_col is None else _str(source, "id", id_col),
        model=dict(model),
        source=source,
        segment_order=order,
    )


def load_factor_map(path: str | Path) -> FactorMap:
    """Read and check a factor map YAML file."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise FactorMapError(f"{p}: no such factor map file")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise FactorMapError(f"{p}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise FactorMapError(f"{p}: not valid YAML: {exc}") from None
    return parse_factor_map(data, str(p))
