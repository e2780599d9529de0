"""Loyalty points as a ledger: append-only events, derived balances, exactly-once operations.

A :class:`PointsLedger` over a :class:`LedgerStore` (in memory, SQLite, or the
host's own) earns points for revisits, redeems them for catalogue rewards,
reverses, expires and adjusts them; :func:`award_referrals` and
:func:`award_reviews` add the word-of-mouth rewards (from the data tables or the
records :func:`read_referrals_csv` and :func:`read_reviews_csv` read from files);
:func:`membership` gives the membership tier (:data:`SPEC_TIERS`) and
:func:`enrol` records an enrolment;
:func:`verify` audits a store;
:func:`privileges` decides returning-patient benefits;
:func:`check_ledger_store` checks a host's own store (and
:mod:`rfm_retention.loyalty.state_machine`, which needs hypothesis, drives it
at random).
"""

from rfm_retention.loyalty._award import AwardResult, visit_key, visit_keys
from rfm_retention.loyalty._balances import Balances
from rfm_retention.loyalty._earn_batch import EarnBatch
from rfm_retention.loyalty._events import Event, EventKind
from rfm_retention.loyalty._history import LedgerHistory
from rfm_retention.loyalty._inputs import (
    PostedReview,
    Referral,
    read_referrals_csv,
    read_reviews_csv,
    referrals_of,
    reviews_of,
)
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
from rfm_retention.loyalty._store import (
    BulkEarns,
    LedgerStore,
    StoredSignatures,
    StoreTransaction,
)
from rfm_retention.loyalty._tiers import (
    HEALTH_STEWARD,
    SPEC_TIERS,
    WELCOME_POINTS,
    Membership,
    Tier,
    TierRule,
    TierScheme,
    enrol,
    enrolment,
    enrolment_key,
    membership,
)
from rfm_retention.loyalty._verify import Problem, VerifyReport, verify
from rfm_retention.loyalty._word_of_mouth import (
    WORD_OF_MOUTH,
    WordOfMouthAward,
    WordOfMouthRules,
    award_referrals,
    award_reviews,
    referral_key,
    reverse_referral,
    review_key,
)
from rfm_retention.loyalty.conformance import check_ledger_store

__all__ = [
    "GREEN_CHANNEL",
    "HEALTH_STEWARD",
    "NO_CAPS",
    "RETURNING_PACKAGE",
    "REVISIT_POINTS",
    "SCHEMA_VERSION",
    "SPEC_PRIVILEGES",
    "SPEC_REWARDS",
    "SPEC_TIERS",
    "WELCOME_POINTS",
    "WORD_OF_MOUTH",
    "AwardResult",
    "Balance",
    "Balances",
    "BulkEarns",
    "EarnBatch",
    "EarningRules",
    "Event",
    "EventKind",
    "LedgerHistory",
    "LedgerStore",
    "Lot",
    "Membership",
    "MemoryStore",
    "PatientPrivileges",
    "PointsLedger",
    "PostedReview",
    "PostgresStore",
    "Privilege",
    "PrivilegeDecision",
    "PrivilegeRule",
    "Problem",
    "RedemptionCaps",
    "Referral",
    "ReversalPolicy",
    "Reward",
    "RewardCatalogue",
    "SQLiteStore",
    "StoreTransaction",
    "StoredSignatures",
    "Tier",
    "TierRule",
    "TierScheme",
    "VerifyReport",
    "Voucher",
    "WordOfMouthAward",
    "WordOfMouthRules",
    "award_referrals",
    "award_reviews",
    "check_ledger_store",
    "enrol",
    "enrolment",
    "enrolment_key",
    "membership",
    "privileges",
    "read_referrals_csv",
    "read_reviews_csv",
    "referral_key",
    "referrals_of",
    "reverse_referral",
    "review_key",
    "reviews_of",
    "verify",
    "visit_key",
    "visit_keys",
    "voucher_code",
]
