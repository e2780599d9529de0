"""The rule policy: risk levels from a table of rules declared as data.

A rule file (JSON or TOML) lists rules; each gives a ``level`` and a list of
``conditions`` joined by ``when = "all"`` (default) or ``"any"``. A condition
compares one measure of one indicator with a number::

    {"indicator": "interval_extension", "measure": "value", "op": ">", "value": 1.0}

``measure`` is ``value`` (default), ``severity``, ``fired`` (compare with
``true``/``false``) or one of the indicator's declared ``measures``. ``op`` is
one of ``>``, ``>=``, ``<``, ``<=``, ``==``, ``!=``. A patient's level is the
highest level of any rule it satisfies (NONE if none). A condition on a
patient without a signal (or with an undefined measure) is false: missing data
never raises a level.

Rule files are parsed with :mod:`json` / :mod:`tomllib` only and checked
against the indicator set the scan will run: unknown fields, unknown
indicators or measures, unknown operators and non-numeric thresholds are
errors naming the rule. Nothing in a rule file is evaluated as code or used
to look up attributes; measures are read from the results' data by name.
"""

from __future__ import annotations

import json
import operator
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._frozen import frozen
from rfm_retention.errors import ConfigError
from rfm_retention.risk._panel import IndicatorPanel
from rfm_retention.risk._policy import RiskAssessment
from rfm_retention.risk._registry import IndicatorSet, default_indicators
from rfm_retention.risk._score import ScorePolicy
from rfm_retention.vocabulary import RiskLevel

__all__ = ["SPEC_RULE_TABLE", "Condition", "Rule", "RulePolicy"]

_OPS: Mapping[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}

def _band(level: str, label: str, indicator: str, op: str, value: float) -> dict[str, Any]:
    """A rule of one condition on an indicator's value, as a rule file writes it."""
    return {
        "level": level,
        "label": label,
        "conditions": [{"indicator": indicator, "op": op, "value": value}],
    }


def _all_of(level: str, label: str, *conditions: tuple[str, str, str, object]) -> dict[str, Any]:
    """A rule whose ``(indicator, measure, op, value)`` conditions must all hold."""
    return {
        "level": level,
        "label": label,
        "when": "all",
        "conditions": [
            {"indicator": i, "measure": m, "op": op, "value": v} for i, m, op, v in conditions
        ],
    }


SPEC_RULE_TABLE: Mapping[str, Any] = frozen(
    {
        "name": "rules",
        "rules": [
            _all_of(
                "high",
                "no visit for 3 months and a treatment course not completed",
                ("frequency_drop", "visits_last_3_months", "<=", 0),
                ("course_not_completed", "fired", "==", True),
            ),
            _band("high", "interval extension over 100%", "interval_extension", ">", 1.0),
            _all_of(
                "high",
                "repeated complaints with unsatisfactory handling",
                ("complaints", "fired", "==", True),
                ("complaint_handling", "fired", "==", True),
            ),
            _band("medium", "interval extension 50-100%", "interval_extension", ">", 0.5),
            _band("medium", "visit frequency down 30% or more", "frequency_drop", ">=", 0.3),
            _band("medium", "a satisfaction rating below 80", "low_satisfaction", ">=", 1),
            _band("low", "interval extension 30-50%", "interval_extension", ">=", 0.3),
            _band("low", "visit frequency down 10-30%", "frequency_drop", ">=", 0.1),
            _band("low", "a missed appointment", "no_shows", ">=", 1),
        ],
    }
)
"""The documents' rule table (SPEC section 4), as the data a rule file would hold.

Bands are half-open at the bottom: interval extension (30 %, 50 %] is low,
(50 %, 100 %] medium, above 100 % high, so exactly +50 % is low (the
indicator fires only *above* +50 %). A frequency drop of 30 % or more is
medium (the table's 30-50 % band, extended upwards so a worse drop never
lowers the level).
"""

_RULE_KEYS = frozenset({"level", "when", "conditions", "label"})
_CONDITION_KEYS = frozenset({"indicator", "measure", "op", "value"})
_TOP_KEYS = frozenset({"name", "rules"})


@attrs.frozen
class Condition:
    """``<indicator>.<measure> <op> <value>``, e.g. ``interval_extension.value > 1.0``."""

    indicator: str
    op: str
    value: float | bool
    measure: str = "value"

    def __attrs_post_init__(self) -> None:
        if self.op not in _OPS:
            raise ConfigError(f"unknown operator {self.op!r}; use one of {', '.join(_OPS)}")
        if self.measure == "fired":
            if not isinstance(self.value, bool) or self.op not in ("==", "!="):
                raise ConfigError(f"{self}: 'fired' compares with == or != against true/false")
        elif isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise ConfigError(f"{self}: the threshold must be a number")
        elif not np.isfinite(self.value):
            raise ConfigError(f"{self}: the threshold must be finite")

    def __str__(self) -> str:
        return f"{self.indicator}.{self.measure} {self.op} {self.value!r}"

    def evaluate(self, panel: IndicatorPanel) -> npt.NDArray[np.bool_]:
        """Where the condition holds; false without a signal or with an undefined measure."""
        result = panel[self.indicator]
        holds: npt.NDArray[np.bool_]
        if self.measure == "fired":  # booleans compared as booleans
            holds = _OPS[self.op](result.fired, bool(self.value)) & result.signal
            return holds
        if self.measure in ("value", "severity"):
            # value is NaN exactly where there is no signal; severity is 0 there
            column = result.value if self.measure == "value" else result.severity
            known = result.signal
        else:
            column = np.asarray(
                result.details.get(self.measure, np.full(len(panel), np.nan)), np.float64
            )
            known = ~np.isnan(column)
        with np.errstate(invalid="ignore"):
            holds = known & _OPS[self.op](column, float(self.value))
        return holds


@attrs.frozen
class Rule:
    """One row of the rule table: a level and its conditions (all or any)."""

    level: RiskLevel
    conditions: tuple[Condition, ...]
    when: Literal["all", "any"] = "all"
    label: str = ""

    def __attrs_post_init__(self) -> None:
        if self.level == RiskLevel.NONE:
            raise ConfigError("a rule's level must be low, medium or high")
        if not self.conditions:
            raise ConfigError(f"rule {self.describe()!r} has no conditions")
        if self.when not in ("all", "any"):
            raise ConfigError(f"rule {self.describe()!r}: when must be 'all' or 'any'")

    def describe(self) -> str:
        """The label, or the conditions written out."""
        joiner = " and " if self.when == "all" else " or "
        return self.label or joiner.join(str(c) for c in self.conditions)

    def holds(self, panel: IndicatorPanel) -> npt.NDArray[np.bool_]:
        """Where the rule is satisfied."""
        parts = np.vstack([c.evaluate(panel) for c in self.conditions])
        out: npt.NDArray[np.bool_] = np.asarray(
            parts.all(axis=0) if self.when == "all" else parts.any(axis=0), bool
        )
        return out


@attrs.frozen
class RulePolicy:
    """Risk levels from a rule table; the score column comes from a score policy.

    The rules decide the *level*. The score (used to rank warnings of the same
    level and shown beside them) is ``score_policy``'s weighted score.

    Example:
        >>> policy = RulePolicy.from_json('''{"rules": [{"level": "high",
        ...   "conditions": [{"indicator": "complaints", "op": ">=", "value": 3}]}]}''')
        >>> policy.rules[0].describe()
        'complaints.value >= 3'
    """

    name: ClassVar[str] = "rules"

    rules: tuple[Rule, ...]
    score_policy: ScorePolicy = attrs.field(factory=ScorePolicy)

    def validate(self, indicators: IndicatorSet) -> None:
        """Every condition must name an indicator of ``indicators`` and one of its measures."""
        for k, rule in enumerate(self.rules):
            for c in rule.conditions:
                where = f"rule {k + 1} ({rule.describe()})"
                if c.indicator not in indicators:
                    raise ConfigError(
                        f"{where}: unknown indicator {c.indicator!r}; "
                        f"known: {', '.join(indicators.names)}"
                    )
                measures = indicators.measures_of(c.indicator)
                if c.measure not in measures:
                    raise ConfigError(
                        f"{where}: indicator {c.indicator!r} has no measure {c.measure!r}; "
                        f"it has {', '.join(measures)}"
                    )

    def matched(self, panel: IndicatorPanel) -> npt.NDArray[np.bool_]:
        """Which rules (rows) each patient (columns) satisfies."""
        if not self.rules:
            return np.zeros((0, len(panel)), bool)
        return np.vstack([r.holds(panel) for r in self.rules])

    def explain(self, panel: IndicatorPanel) -> tuple[tuple[str, ...], ...]:
        """Per patient, the rules they satisfy (:meth:`Rule.describe`), in table order."""
        hits = self.matched(panel)
        described = [r.describe() for r in self.rules]
        return tuple(
            tuple(d for d, hit in zip(described, column, strict=True) if hit) for column in hits.T
        )

    def assess(self, panel: IndicatorPanel) -> RiskAssessment:
        """Highest level among satisfied rules; score from :attr:`score_policy`."""
        level = np.zeros(len(panel), np.int8)
        for rule, holds in zip(self.rules, self.matched(panel), strict=True):
            level = np.where(holds, np.maximum(level, int(rule.level)), level).astype(np.int8)
        return RiskAssessment(level, self.score_policy.scores(panel), patients=panel.patients)

    # ------------------------------------------------------------- building
    @classmethod
    def spec(cls, indicators: IndicatorSet | None = None) -> RulePolicy:
        """The documents' rule table (:data:`SPEC_RULE_TABLE`)."""
        return cls.from_mapping(SPEC_RULE_TABLE, indicators=indicators)

    @classmethod
    def from_mapping(
        cls, table: Mapping[str, Any], *, indicators: IndicatorSet | None = None
    ) -> RulePolicy:
        """Build from parsed JSON/TOML data and validate it against ``indicators``.

        ``indicators`` defaults to the built-in set; pass the set you will
        scan with when it has host indicators.
        """
        if not isinstance(table, Mapping):
            raise ConfigError("a rule table must be an object with a 'rules' list")
        _reject_unknown(table, _TOP_KEYS, "rule table")
        raw_rules = table.get("rules")
        if not isinstance(raw_rules, Sequence) or isinstance(raw_rules, str) or not raw_rules:
            raise ConfigError("a rule table needs a non-empty 'rules' list")
        rules = tuple(_parse_rule(k, raw) for k, raw in enumerate(raw_rules))
        policy = cls(rules)
        policy.validate(indicators if indicators is not None else default_indicators())
        return policy

    @classmethod
    def from_json(cls, text: str, *, indicators: IndicatorSet | None = None) -> RulePolicy:
        """Parse a JSON rule table."""
        table = _parsed(text, json.loads, json.JSONDecodeError, "JSON")
        return cls.from_mapping(table, indicators=indicators)

    @classmethod
    def from_toml(cls, text: str, *, indicators: IndicatorSet | None = None) -> RulePolicy:
        """Parse a TOML rule table (``[[rules]]`` with ``[[rules.conditions]]``)."""
        table = _parsed(text, tomllib.loads, tomllib.TOMLDecodeError, "TOML")
        return cls.from_mapping(table, indicators=indicators)

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], *, indicators: IndicatorSet | None = None
    ) -> RulePolicy:
        """Read a ``.json`` or ``.toml`` rule file."""
        p = Path(path)
        text = p.read_text(encoding="utf-8")
        if p.suffix.lower() == ".toml":
            return cls.from_toml(text, indicators=indicators)
        if p.suffix.lower() == ".json":
            return cls.from_json(text, indicators=indicators)
        raise ConfigError(f"{p}: rule files must end in .json or .toml")

    def to_mapping(self) -> dict[str, Any]:
        """The rule table as JSON-ready data (round-trips through :meth:`from_mapping`)."""
        return {
            "name": self.name,
            "rules": [
                {
                    "level": r.level.label,
                    "label": r.label,
                    "when": r.when,
                    "conditions": [
                        {
                            "indicator": c.indicator,
                            "measure": c.measure,
                            "op": c.op,
                            "value": c.value,
                        }
                        for c in r.conditions
                    ],
                }
                for r in self.rules
            ],
        }


def _parsed(
    text: str, loads: Callable[[str], Any], error: type[Exception], kind: str
) -> Any:
    """``loads(text)``; a syntax error becomes a ConfigError naming the format."""
    try:
        return loads(text)
    except error as exc:
        raise ConfigError(f"rule file is not valid {kind}: {exc}") from None


def _reject_unknown(raw: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown field(s) {unknown}; allowed: {', '.join(sorted(allowed))}"
        )


def _parse_rule(k: int, raw: Any) -> Rule:
    where = f"rule {k + 1}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be an object with level and conditions")
    _reject_unknown(raw, _RULE_KEYS, where)
    try:
        level = RiskLevel.parse(str(raw.get("level", "")))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    raw_conditions = raw.get("conditions")
    if not isinstance(raw_conditions, Sequence) or isinstance(raw_conditions, str):
        raise ConfigError(f"{where}: 'conditions' must be a list")
    conditions = []
    for j, c in enumerate(raw_conditions):
        cwhere = f"{where}, condition {j + 1}"
        if not isinstance(c, Mapping):
            raise ConfigError(f"{cwhere}: must be an object")
        _reject_unknown(c, _CONDITION_KEYS, cwhere)
        missing = [key for key in ("indicator", "op", "value") if key not in c]
        if missing:
            raise ConfigError(f"{cwhere}: missing {', '.join(missing)}")
        try:
            conditions.append(
                Condition(
                    indicator=str(c["indicator"]),
                    op=str(c["op"]),
                    value=c["value"],
                    measure=str(c.get("measure", "value")),
                )
            )
        except ConfigError as exc:
            raise ConfigError(f"{cwhere}: {exc}") from None
    when = raw.get("when", "all")
    label = raw.get("label", "")
    if not isinstance(label, str):
        raise ConfigError(f"{where}: label must be text")
    try:
        return Rule(level, tuple(conditions), when, label)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
