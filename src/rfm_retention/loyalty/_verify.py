"""Recompute every balance and lot from the events and report anything that does not add up.

The audit a host runs after a crash, a restore, or on a schedule: it reads
the store's events once, replays every account with the same rules the
ledger used to write them, and compares with the store's running balances and,
for stores that keep each account's state (open lots, balance, debt) as they
append, with that kept state: a state edited behind the store's back, or one
that drifted from the events, is reported.
"""

from __future__ import annotations

import attrs

from rfm_retention.loyalty._lots import AccountState, InvariantViolation
from rfm_retention.loyalty._store import DerivedState, LedgerStore

__all__ = ["Problem", "VerifyReport", "verify"]


@attrs.frozen
class Problem:
    """One thing that does not add up, with where it was found."""

    check: str
    message: str
    branch: str = ""
    patient_id: str = ""
    key: str = ""

    def __str__(self) -> str:
        where = f" [{self.branch}/{self.patient_id}]" if self.patient_id else ""
        return f"{self.check}{where}: {self.message}"


@attrs.frozen
class VerifyReport:
    """The result of :func:`verify`: ``ok`` is True when no problem was found.

    Example:
        >>> from rfm_retention.loyalty import MemoryStore
        >>> verify(MemoryStore()).ok
        True
    """

    n_events: int
    n_accounts: int
    total_balance: int
    total_available: int
    total_debt: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    def summary(self) -> str:
        """A few readable lines."""
        head = (f"{self.n_events} event(s), {self.n_accounts} account(s); balance "
                f"{self.total_balance}, available {self.total_available}, debt {self.total_debt}")
        if self.ok:
            return head + "\nOK: every balance and lot matches the events."
        lines = [head, f"{len(self.problems)} problem(s):"]
        lines += [f"  {p}" for p in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"  ... and {len(self.problems) - 50} more")
        return "\n".join(lines)


def verify(store: LedgerStore) -> VerifyReport:
    """Replay every event of ``store`` and report every mismatch (never raises on bad data).

    Checks: ``seq`` runs 1, 2, 3 ... with no gap (no lost event); keys are
    unique; every event applies to its account under the ledger's rules
    (reversals name an event of the same account and reverse it once,
    redemptions never overdraw, expiries only remove what a due lot holds);
    after every event the lots add up to the available points and
    ``available - debt`` equals the sum of the events; the store's running
    balances equal the replay.
    """
    problems: list[Problem] = []
    accounts: dict[tuple[str, str], AccountState] = {}
    broken: set[tuple[str, str]] = set()
    keys: set[str] = set()
    expected_seq = 1
    n = 0
    for event in store.events():
        n += 1
        if event.seq != expected_seq:
            problems.append(Problem("sequence", f"expected seq {expected_seq}, found "
                                    f"{event.seq}: event(s) missing or out of order",
                                    key=event.key))
        expected_seq = event.seq + 1
        if event.key in keys:
            problems.append(Problem("unique-key", "key stored twice", event.branch,
                                    event.patient_id, event.key))
            continue
        keys.add(event.key)
        account = (event.branch, event.patient_id)
        if account in broken:
            continue
        state = accounts.setdefault(account, AccountState(*account))
        try:
            state.apply(event)
        except InvariantViolation as exc:
            problems.append(Problem("replay", str(exc), *account, event.key))
            broken.add(account)
    projected = store.projected_balances()
    for account, state in sorted(accounts.items()):
        if account in broken:
            continue
        got = projected.get(account)
        want = (state.total, state.n_events)
        if got != want:
            problems.append(Problem(
                "running-balance", f"store says (balance, events) = {got}, events say {want}",
                *account))
    for account in sorted(set(projected) - set(accounts)):
        problems.append(Problem("running-balance", "store has a balance but no events",
                                *account))
    if isinstance(store, DerivedState):
        problems += _check_derived(store, accounts, broken)
    good = [s for a, s in accounts.items() if a not in broken]
    return VerifyReport(
        n_events=n,
        n_accounts=len(accounts),
        total_balance=sum(s.total for s in good),
        total_available=sum(s.available for s in good),
        total_debt=sum(s.debt for s in good),
        problems=tuple(problems),
    )


def _check_derived(store: DerivedState, accounts: dict[tuple[str, str], AccountState],
                   broken: set[tuple[str, str]]) -> list[Problem]:
    """Compare the store's kept account states and lots with the replay."""
    problems: list[Problem] = []
    kept = store.derived_accounts()
    for account, state in sorted(accounts.items()):
        if account in broken:
            continue
        want = (state.total, state.available, state.debt, state.n_events)
        got = kept.get(account)
        if got != want:
            problems.append(Problem(
                "account-state", f"store keeps (balance, available, debt, events) = {got}, "
                f"events say {want}", *account))
    for account in sorted(set(kept) - set(accounts)):
        problems.append(Problem("account-state", "store keeps a state but no events", *account))
    lots = store.derived_lots()
    replayed = {lot.key: (lot.remaining, lot.expired, lot.reversed, state)
                for account, state in accounts.items() if account not in broken
                for lot in state.book.all_lots()}
    for key, (remaining, expired, reversed_, state) in sorted(replayed.items()):
        got_lot = lots.get(key)
        if got_lot != (remaining, expired, reversed_):
            problems.append(Problem(
                "lot-state", f"store keeps lot (remaining, expired, reversed) = {got_lot}, "
                f"events say {(remaining, expired, reversed_)}", state.branch,
                state.patient_id, key))
    for key in sorted(set(lots) - set(replayed)):
        if not any(account in broken for account in accounts):
            problems.append(Problem("lot-state", "store keeps a lot no event opened", key=key))
    return problems
