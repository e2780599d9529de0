"""Per-object memory for immutable results: computed once, kept on the object itself.

Frozen results (a scan snapshot, an indicator panel) are read by several
consumers (indicators, policies, warnings) that would otherwise repeat the
same work. Each such object owns one :class:`Memo`; nothing is remembered
at module level, so two objects never share state and dropping the object
drops what it remembered.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["Memo"]

T = TypeVar("T")


class Memo:
    """Values computed once per key.

    Example:
        >>> memo = Memo()
        >>> memo.get(("square", 3), lambda: 3 * 3), memo.get(("square", 3), lambda: 0)
        (9, 9)
    """

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value remembered under ``key``, computing it with ``compute`` the first time."""
        try:
            value: T = self._values[key]
        except KeyError:
            value = self._values[key] = compute()
        return value

    def __repr__(self) -> str:
        return f"Memo({len(self._values)} values)"
