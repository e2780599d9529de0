"""The packaged ledger state machine, run on both built-in stores.

The machine itself lives in :mod:`rfm_retention.loyalty.state_machine` so that hosts can run it
on their own stores; here it runs once on the in-memory store and once on SQLite.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings

from rfm_retention.loyalty import MemoryStore, SQLiteStore
from rfm_retention.loyalty.state_machine import LedgerStateMachine


class MemoryLedgerMachine(LedgerStateMachine):
    def make_store(self) -> MemoryStore:
        return MemoryStore()


class SQLiteLedgerMachine(LedgerStateMachine):
    def make_store(self) -> SQLiteStore:
        self.tmp = tempfile.TemporaryDirectory()
        return SQLiteStore(Path(self.tmp.name) / "ledger.db", synchronous="OFF")

    def teardown(self) -> None:
        super().teardown()
        self.tmp.cleanup()


TestMemoryLedger = MemoryLedgerMachine.TestCase
TestMemoryLedger.settings = settings(max_examples=150, stateful_step_count=60)
TestSQLiteLedger = SQLiteLedgerMachine.TestCase
TestSQLiteLedger.settings = settings(max_examples=60, stateful_step_count=50)
