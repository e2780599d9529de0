"""The one form of every preset: a value nobody can change after the fact.

A preset (the documents' rule table, weights, playbooks, tier and reward
tables, cohort settings, conformance kits) is shared by every caller in the
process: if one caller could ``SPEC_RULE_TABLE.pop("rules")``, every later
``RulePolicy.spec()`` would change. So a preset is a frozen attrs object or
a read-only mapping, with frozen values all the way down: tuples for lists,
:class:`types.MappingProxyType` for dicts. Change a copy instead
(``attrs.evolve(preset, ...)``, ``{**SPEC_WEIGHTS, ...}``).
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = ["frozen", "frozen_mapping"]

K = TypeVar("K")
V = TypeVar("V")


def frozen_mapping(items: Mapping[K, V]) -> Mapping[K, V]:
    """A read-only copy of ``items`` (its values must already be immutable).

    Example:
        >>> weights = frozen_mapping({"behaviour": 0.4})
        >>> weights["behaviour"] = 1.0
        Traceback (most recent call last):
        ...
        TypeError: 'mappingproxy' object does not support item assignment
    """
    return types.MappingProxyType(dict(items))


def frozen(value: Any) -> Any:
    """``value`` with every dict made a read-only mapping and every list a tuple, deeply.

    Example:
        >>> table = frozen({"rules": [{"level": "high", "conditions": []}]})
        >>> type(table["rules"]).__name__, type(table["rules"][0]).__name__
        ('tuple', 'mappingproxy')
    """
    if isinstance(value, Mapping):
        return types.MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(frozen(v) for v in value)
    if isinstance(value, set | frozenset):
        return frozenset(frozen(v) for v in value)
    return value
