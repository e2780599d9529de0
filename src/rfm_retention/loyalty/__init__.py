"""Loyalty points as a ledger: append-only events, derived balances, exactly-once operations.

A :class:`PointsLedger` over a :class:`LedgerStore` (in memory, SQLite, or the
host's own) earns points for revisits, redeems them for catalogue rewards,
reverses, expires and adjusts them; :func:`verify` audits a store;
:func:`privileges` decides returning-patient benefits;
:func:`check_ledger_store` checks a host's own store (and
:mod:`rfm_retention.loyalty.state_machine`, which needs hypothesis, drives it
at random).
"""

from rfm_retention.loyalty._award import AwardResult, visit_key, visit_keys
from rfm_retention.loyalty._events import Event, EventKind
from rfm_retention.loyalty._ledger import PointsLedger, ReversalPolicy
from rfm_retention.loyalty._lots import Balance, Lot
from rfm_retention.loyalty._memory_store import MemoryStore
from rfm_retention.loyalty._postgres_store import PostgresStore
from rfm_retention.loyalty._privileges import (
    GREEN_CHANNEL,
    RETURNING_PACKAGE,
    SPEC_PRIVILEGES,
    PatientPrivileges,
    Privilege,
    PrivilegeDecision,
    PrivilegeRule,
    privileges,
)
from rfm_retention.loyalty._rewards import (
    NO_CAPS,
    SPEC_REWARDS,
    RedemptionCaps,
    Reward,
    RewardCatalogue,
    Voucher,
    voucher_code,
)
from rfm_retention.loyalty._rules import REVISIT_POINTS, EarningRules
from rfm_retention.loyalty._sqlite_store import SCHEMA_VERSION, SQLiteStore
from rfm_retention.loyalty._store import LedgerStore, StoredSignatures, StoreTransaction
from rfm_retention.loyalty._verify import Problem, VerifyReport, verify
from rfm_retention.loyalty.conformance import check_ledger_store

__all__ = [
    "GREEN_CHANNEL",
    "NO_CAPS",
    "RETURNING_PACKAGE",
    "REVISIT_POINTS",
    "SCHEMA_VERSION",
    "SPEC_PRIVILEGES",
    "SPEC_REWARDS",
    "AwardResult",
    "Balance",
    "EarningRules",
    "Event",
    "EventKind",
    "LedgerStore",
    "Lot",
    "MemoryStore",
    "PatientPrivileges",
    "PointsLedger",
    "PostgresStore",
    "Privilege",
    "PrivilegeDecision",
    "PrivilegeRule",
    "Problem",
    "RedemptionCaps",
    "ReversalPolicy",
    "Reward",
    "RewardCatalogue",
    "SQLiteStore",
    "StoreTransaction",
    "StoredSignatures",
    "VerifyReport",
    "Voucher",
    "check_ledger_store",
    "privileges",
    "verify",
    "visit_key",
    "visit_keys",
    "voucher_code",
]
