"""The storage protocol: what a host implements to keep the ledger in its own database.

A store keeps events, append-only, and gives the ledger a *transaction*: a
serialised unit in which it reads an account, decides, and appends. The
ledger never writes outside a transaction, and a transaction that raises
appends nothing. That is all a store must guarantee; every rule about points
lives in the ledger, so a PostgreSQL store is a few dozen lines (see the
loyalty guide). :func:`rfm_retention.loyalty.conformance.check_ledger_store`
and :mod:`rfm_retention.loyalty.state_machine` check that a store keeps
these promises.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

from rfm_retention.loyalty._earn_batch import EarnBatch
from rfm_retention.loyalty._events import Event
from rfm_retention.loyalty._lots import AccountState

__all__ = ["AccountStates", "BulkEarns", "DerivedState", "LedgerStore", "StoreTransaction",
           "StoredSignatures"]


@runtime_checkable
class StoreTransaction(Protocol):
    """Reads and appends inside one serialised transaction.

    Reads see the transaction's own appends. Implementations must serialise
    transactions that touch the same account (a database write lock, a
    ``SELECT ... FOR UPDATE`` on an account row, or a process-wide lock).
    """

    def get(self, keys: Sequence[str]) -> dict[str, Event]:
        """The stored events among ``keys`` (missing keys are simply absent)."""
        ...

    def account(self, branch: str, patient_id: str) -> list[Event]:
        """Every event of one account, in store order."""
        ...

    def patients_with_lots_due(self, branch: str, at: dt.datetime) -> list[str]:
        """Patients of ``branch`` with at least one lot whose ``expires_at`` is at or before
        ``at`` (a superset is fine: the ledger filters)."""
        ...

    def append(self, events: Sequence[Event]) -> int:
        """Append events; returns the ``seq`` given to the first (the rest follow by one).

        Keys are unique in the store; a duplicate key must raise (the ledger
        checks keys first, so this only guards against a bug)."""
        ...


@runtime_checkable
class StoredSignatures(Protocol):
    """Optional fast path a transaction may offer for big batches (``award_visits``).

    A rerun of a nightly batch finds almost every key already stored; reading
    each stored event back in full to compare it is most of the work. A
    transaction that also has this method lets the ledger compare plain
    tuples instead. Stores without it are served by :meth:`StoreTransaction.get`.
    """

    def stored_signatures(self, keys: Sequence[str]
                          ) -> dict[str, tuple[str, str, str, int | None, str, str, str | None,
                                               str]]:
        """``Event.request_signature()`` of the stored events among ``keys`` (plus own appends)."""
        ...


@runtime_checkable
class BulkEarns(Protocol):
    """Optional fast path a transaction may offer for writing a batch of earns (``award_visits``).

    The batch comes as columns (:class:`~rfm_retention.loyalty._earn_batch.EarnBatch`)
    whose keys are not stored yet (the ledger checked); the transaction writes
    them as events with the next ``seq`` numbers and opens their lots, with
    the same result as :meth:`StoreTransaction.append` of ``batch.events()``
    but without an object per event. Stores without it get that ``append``.
    """

    def append_earns(self, batch: EarnBatch) -> int:
        """Append the batch's earn events; returns the ``seq`` of the first."""
        ...


@runtime_checkable
class AccountStates(Protocol):
    """Optional: a transaction that keeps every account's state current as it appends.

    Replaying an account before each operation costs its whole history; a
    store offering this keeps the state (open lots, balance, debt) itself,
    applies each appended event to it in the same transaction (raising the
    state's ``InvariantViolation`` for an event that breaks a rule, which
    rolls the transaction back), and hands the ledger the current state, so an
    operation costs only the lots it touches. ``verify`` still replays every
    account from scratch and compares (see :class:`DerivedState`).
    """

    def state(self, branch: str, patient_id: str) -> AccountState:
        """The account's current state, including this transaction's appends."""
        ...


@runtime_checkable
class DerivedState(Protocol):
    """Optional: what a store keeping account states holds, for ``verify`` to compare."""

    def derived_accounts(self) -> dict[tuple[str, str], tuple[int, int, int, int]]:
        """(balance, available, debt, event count) per (branch, patient) account."""
        ...

    def derived_lots(self) -> dict[str, tuple[int, int, bool]]:
        """(remaining, expired, reversed) per lot key."""
        ...


@runtime_checkable
class LedgerStore(Protocol):
    """Where ledger events live. Built-ins: :class:`MemoryStore`, :class:`SQLiteStore`.

    Example:
        >>> from rfm_retention.loyalty import MemoryStore
        >>> isinstance(MemoryStore(), LedgerStore)
        True
    """

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        """A serialised read-decide-append unit; commits on exit, appends nothing on error."""
        ...

    def events(self, *, branch: str | None = None, patient_id: str | None = None
               ) -> Iterator[Event]:
        """Stored events (optionally of one branch / one patient), in store order."""
        ...

    def projected_balances(self) -> dict[tuple[str, str], tuple[int, int]]:
        """The store's running (balance, event count) per (branch, patient) account.

        Kept by the store on append, for hosts' reporting queries; ``verify``
        checks it equals the replay of the events.
        """
        ...
