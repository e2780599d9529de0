"""Presets are frozen all the way down: mutating one raises, and the spec constructors hold."""

from __future__ import annotations

import datetime as dt
import enum
import importlib
import pkgutil
import re
import types
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import attrs
import numpy as np
import pytest

import rfm_retention
from rfm_retention.interventions import SPEC_PLAYBOOK
from rfm_retention.loyalty import NO_CAPS, REVISIT_POINTS, SPEC_REWARDS, SPEC_TIERS
from rfm_retention.risk import (
    SPEC_CUTOFFS,
    SPEC_RULE_TABLE,
    SPEC_WEIGHTS,
    Dimension,
    RulePolicy,
    ScorePolicy,
)
from rfm_retention.segmentation import ACTIONS, EIGHT_SEGMENT_PLAYBOOK
from rfm_retention.testing import DEFAULT_SETTINGS

_PRESET_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_ATOMS = (str, bytes, int, float, complex, bool, type(None), enum.Enum, dt.date, dt.datetime,
          dt.timedelta, np.generic, np.dtype, type, re.Pattern, TypeVar)


def _modules() -> Iterator[types.ModuleType]:
    yield rfm_retention
    for info in pkgutil.walk_packages(rfm_retention.__path__, "rfm_retention."):
        if info.name.endswith("_pytest_plugin") or info.name.endswith(".strategies"):
            continue  # loaded by pytest / needs hypothesis: checked below on their own
        if info.name.endswith((".state_machine", ".__main__")):
            continue
        yield importlib.import_module(info.name)


def presets() -> dict[str, Any]:
    """Every upper-case module-level value of the library that is not a plain number or text."""
    found: dict[str, Any] = {}
    for module in _modules():
        for name, value in vars(module).items():
            if not _PRESET_NAME.match(name) or isinstance(value, _ATOMS):
                continue
            if getattr(value, "__module__", module.__name__) != module.__name__ and (
                isinstance(value, type | types.FunctionType)):
                continue
            if any(v is value for v in found.values()):
                continue
            found[f"{module.__name__}.{name}"] = value
    return found


PRESETS = presets()


def mutable_parts(value: Any, where: str, seen: set[int] | None = None) -> list[str]:
    """Where inside ``value`` something could be changed in place (empty: frozen throughout)."""
    seen = set() if seen is None else seen
    if isinstance(value, _ATOMS) or id(value) in seen or (callable(value) and not (
            attrs.has(type(value)))):
        return []
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return [] if not value.flags.writeable else [f"{where} (a writeable array)"]
    if isinstance(value, tuple | frozenset):
        return [p for k, v in enumerate(value) for p in mutable_parts(v, f"{where}[{k}]", seen)]
    if isinstance(value, Mapping):
        if not isinstance(value, types.MappingProxyType):
            return [f"{where} (a {type(value).__name__})"]
        return [p for k, v in value.items() for p in mutable_parts(v, f"{where}[{k!r}]", seen)]
    if attrs.has(type(value)):
        if not _is_frozen(value):
            return [f"{where} (a mutable {type(value).__name__})"]
        return [p for f in attrs.fields(type(value))
                for p in mutable_parts(getattr(value, f.name), f"{where}.{f.name}", seen)]
    return [f"{where} (a {type(value).__name__})"]


def _is_frozen(value: Any) -> bool:
    first = attrs.fields(type(value))[0] if attrs.fields(type(value)) else None
    if first is None:
        return True
    try:
        object.__getattribute__(value, "__setattr__")(first.name, getattr(value, first.name))
    except attrs.exceptions.FrozenInstanceError:
        return True
    return False


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_is_frozen_all_the_way_down(name: str) -> None:
    """Nothing inside a preset can change in place (read-only mappings, tuples, frozen attrs)."""
    assert mutable_parts(PRESETS[name], name) == []


def test_presets_are_found() -> None:
    """The walk finds the documents' presets (so an empty walk cannot pass for a clean one)."""
    for preset in (SPEC_RULE_TABLE, SPEC_WEIGHTS, SPEC_CUTOFFS, SPEC_TIERS, SPEC_REWARDS,
                   SPEC_PLAYBOOK, EIGHT_SEGMENT_PLAYBOOK, DEFAULT_SETTINGS, ACTIONS):
        assert any(value is preset for value in PRESETS.values())


def test_rule_table_cannot_be_changed_and_spec_keeps_its_rules() -> None:
    """Mutating the rule table raises; RulePolicy.spec() still has the documents' nine rules."""
    with pytest.raises(AttributeError):
        SPEC_RULE_TABLE.pop("rules")  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        SPEC_RULE_TABLE["rules"] = ()  # type: ignore[index]
    with pytest.raises(TypeError):
        SPEC_RULE_TABLE["rules"][1]["conditions"][0]["value"] = 9.0
    with pytest.raises(AttributeError):
        SPEC_RULE_TABLE["rules"].append({})
    rules = RulePolicy.spec().rules
    assert [r.level.label for r in rules] == ["high"] * 3 + ["medium"] * 3 + ["low"] * 3
    assert [str(c) for c in rules[1].conditions] == ["interval_extension.value > 1.0"]
    assert RulePolicy.spec().to_mapping() == RulePolicy.from_mapping(SPEC_RULE_TABLE).to_mapping()


def test_weights_and_cutoffs_cannot_be_changed() -> None:
    """SPEC_WEIGHTS and a score policy's weights are read-only; the spec figures hold."""
    with pytest.raises(TypeError):
        SPEC_WEIGHTS[Dimension.BEHAVIOUR] = 1.0  # type: ignore[index]
    with pytest.raises(TypeError):
        ScorePolicy().weights[Dimension.BEHAVIOUR] = 1.0  # type: ignore[index]
    expected = {Dimension.BEHAVIOUR: 0.4, Dimension.EXPERIENCE: 0.3, Dimension.EFFICACY: 0.2,
                Dimension.REPUTATION: 0.1}
    assert dict(SPEC_WEIGHTS) == expected
    assert dict(ScorePolicy().weights) == pytest.approx(expected)
    assert SPEC_CUTOFFS == (80.0, 60.0, 40.0)
    assert ScorePolicy(weights={**SPEC_WEIGHTS, "reputation": 0.0}).weights[
        Dimension.REPUTATION] == 0.0  # change a copy instead


def test_playbooks_tiers_and_rewards_cannot_be_changed() -> None:
    """Segment playbooks, tier and reward tables, earning rules and caps refuse changes."""
    with pytest.raises(TypeError):
        EIGHT_SEGMENT_PLAYBOOK.entries["core"] = ACTIONS["no_outreach"]  # type: ignore[index]
    with pytest.raises(TypeError):
        ACTIONS["win_back"] = ACTIONS["no_outreach"]  # type: ignore[index]
    with pytest.raises(TypeError):
        REVISIT_POINTS.department_points["ent"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        NO_CAPS.max_per_reward_per_year["health_assessment"] = 1  # type: ignore[index]
    for preset in (SPEC_TIERS, SPEC_REWARDS, SPEC_PLAYBOOK, DEFAULT_SETTINGS, REVISIT_POINTS):
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            preset.__setattr__(attrs.fields(type(preset))[0].name, None)
    custom = EIGHT_SEGMENT_PLAYBOOK.with_action("lost", ACTIONS["no_outreach"])
    assert custom.entries["lost"].code == "no_outreach"
    assert EIGHT_SEGMENT_PLAYBOOK.entries["lost"].code == "win_back"
    assert [t.code for t in SPEC_TIERS.tiers] == ["member", "silver", "gold"]
    assert [(r.code, r.points) for r in SPEC_REWARDS.rewards][:2] == [
        ("health_assessment", 1000), ("half_price_exam", 2000)]
    assert REVISIT_POINTS.points_per_revisit == 100
