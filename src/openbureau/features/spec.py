"""How a feature is declared: once, with the words a person sees and the shape a model may fit.

A spec carries everything downstream needs without reading the code that computes it: the
factor it belongs to (the model keeps factors additive), the adverse reason shown to a
person, and the monotone direction the model must respect, so a better payment record can
never lower a score.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from openbureau.contract import FACTORS
from openbureau.network.config import NetworkConfig

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from openbureau.features.frame import Frame

DIRECTIONS = ("increasing", "decreasing", "none")
SEGMENTS = ("thin", "established")
KEYS = ("person_id", "as_of")
DERIVED = "derived"

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


@dataclass(frozen=True)
class FeatureSpec:
    """One feature: what it measures, how it may move a score, and what to tell a person.

    ``group`` names the aggregation that computes it (one pass per source table), or is
    ``"derived"`` when ``derive`` combines columns of several groups (e.g. debt to income).
    ``default`` fills people the group saw no rows for: 0 for counts, None (NaN) when the
    value is truly unknown, such as the on-time share of someone with nothing due.
    """

    name: str
    factor: str
    reason: str
    direction: str
    actionable: bool
    description: str
    group: str
    default: float | None = 0.0
    unit: str = ""
    derive: Callable[[ir.Table], ir.Value] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        problems = spec_problems(self)
        if problems:
            raise ValueError(f"feature {self.name!r}: " + "; ".join(problems))

    def record(self) -> dict[str, object]:
        """The declaration as plain data (the ``derive`` code is covered by the SQL hash)."""
        return {
            "name": self.name,
            "factor": self.factor,
            "reason": self.reason,
            "direction": self.direction,
            "actionable": self.actionable,
            "description": self.description,
            "group": self.group,
            "default": self.default,
            "unit": self.unit,
        }


def for_factor(
    factor: str,
    *,
    fixed: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Callable[..., FeatureSpec]:
    """A FeatureSpec maker with ``factor`` (and the ``fixed`` fields) filled in, so a factor
    module lists per feature only what differs. Positional arguments follow FeatureSpec's
    field order without those; ``defaults`` replace FeatureSpec's own defaults.

    >>> spec = for_factor("history", fixed={"group": "bills"})
    >>> spec("bills_due", "Many bills", "decreasing", True, "Bills due.").group
    'bills'
    """
    fixed = dict(fixed or {})
    base = dict(defaults or {})
    order = [f.name for f in fields(FeatureSpec) if f.name != "factor" and f.name not in fixed]

    def declare(*args: Any, **kwargs: Any) -> FeatureSpec:
        if len(args) > len(order):
            raise TypeError(f"at most {len(order)} positional fields: {order}")
        given = dict(zip(order, args, strict=False))
        return FeatureSpec(factor=factor, **fixed, **{**base, **given, **kwargs})

    return declare


def spec_problems(spec: FeatureSpec) -> list[str]:
    """Everything wrong with one declaration, in words (empty when it is valid)."""
    problems = []
    if not _SNAKE.match(spec.name):
        problems.append("name must be snake_case")
    if spec.factor not in FACTORS:
        problems.append(f"factor must be one of {FACTORS}, got {spec.factor!r}")
    if spec.direction not in DIRECTIONS:
        problems.append(f"direction must be one of {DIRECTIONS}, got {spec.direction!r}")
    if not spec.reason.strip() or spec.reason.strip().lower() in {"other", "others", "n/a"}:
        problems.append("reason must be plain words a person understands")
    if not spec.description.strip():
        problems.append("description must say what the feature measures")
    if not isinstance(spec.actionable, bool):
        problems.append("actionable must be a bool")
    if (spec.group == DERIVED) != (spec.derive is not None):
        problems.append(f"derive is required exactly when group is {DERIVED!r}")
    return problems


@dataclass(frozen=True)
class FeatureGroup:
    """One aggregation over a source table: all of that table's features in a single pass.

    ``build`` returns a table keyed by (person_id, as_of) with one column per feature of
    the group; columns starting with ``_`` are helpers that derived features read.
    """

    name: str
    tables: tuple[str, ...]
    build: Callable[[Frame], ir.Table] = field(compare=False, repr=False)


@dataclass(frozen=True)
class FeatureParams:
    """Knobs a jurisdiction or a model may set; they enter the catalog version.

    ``public_record_expiry_years``: a public record stops counting this many years after
    filing (7, as under the US FCRA; policy packs per jurisdiction override it).
    ``satisfied_record_weight``: how much a satisfied record counts next to an open one.
    A file is ``thin`` with fewer than ``thin_min_accounts`` credit accounts opened before
    as_of or when the bureau has known the person for under ``thin_min_file_months``.
    ``network`` sets the network factor's walks (``openbureau.network.NetworkConfig``).
    """

    public_record_expiry_years: int = 7
    satisfied_record_weight: float = 0.5
    thin_min_accounts: int = 2
    thin_min_file_months: int = 12
    network: NetworkConfig = field(default_factory=NetworkConfig)

    def __post_init__(self) -> None:
        if not 0 < self.public_record_expiry_years <= 100:
            raise ValueError("public_record_expiry_years must be in 1..100")
        if not 0.0 <= self.satisfied_record_weight <= 1.0:
            raise ValueError("satisfied_record_weight must be in [0, 1]")
        if self.thin_min_accounts < 0 or self.thin_min_file_months < 0:
            raise ValueError("thin-file thresholds must not be negative")
        if not isinstance(self.network, NetworkConfig):
            raise TypeError(f"network must be a NetworkConfig, got {type(self.network).__name__}")
