"""Every built-in store is a context manager that closes itself on the way out."""

from __future__ import annotations

from typing import Self

__all__ = ["ClosingStore"]


class ClosingStore:
    """``with Store(...) as store:`` hands the store back and closes it on leaving the block.

    A store subclasses this and implements :meth:`close` (what closing means
    differs: one connection, a pool, a connection per process).
    """

    def close(self) -> None:
        """Close the store's connections."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
