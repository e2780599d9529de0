"""The case book's tables, written once for every database (see ``rfm_retention._storage``).

``case_events`` is each case's history: append-only, guarded in the database
against ``UPDATE``, ``DELETE`` and an insert replacing a stored event.
``cases`` is the index the store finds cases by (patient, episode, status);
its rows are never deleted or replaced, and a row changes only together with
its history: an update must name the version of the case's last stored event,
so a status edited by another program is refused by the database itself.
"""

from __future__ import annotations

from rfm_retention._frozen import frozen_mapping
from rfm_retention._storage import Schema

__all__ = ["CASE_SCHEMA", "SCHEMA_VERSION", "SQLITE_V2_GUARDS"]

SCHEMA_VERSION = 2
"""The case schema this version of the library writes and reads."""

OPEN_CASE_REFUSED = "patient already has an open case"

_TABLES = (
    """CREATE TABLE cases (
    case_id    TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL,
    episode    {int} NOT NULL,
    status     TEXT NOT NULL,
    level      TEXT NOT NULL,
    version    {int} NOT NULL,
    UNIQUE (patient_id, episode)
)""",
    "CREATE UNIQUE INDEX cases_one_open_per_patient ON cases (patient_id) "
    "WHERE status != 'closed'",
    """CREATE TABLE case_events (
    case_id TEXT NOT NULL REFERENCES cases (case_id),
    seq     {int} NOT NULL,
    kind    TEXT NOT NULL,
    at      TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
)""",
)

_SQLITE_V1_GUARDS = {
    "case_events_append_only_update": """CREATE TRIGGER case_events_append_only_update
    BEFORE UPDATE ON case_events
    BEGIN SELECT RAISE(ABORT, 'case history is append-only'); END""",
    "case_events_append_only_delete": """CREATE TRIGGER case_events_append_only_delete
    BEFORE DELETE ON case_events
    BEGIN SELECT RAISE(ABORT, 'case history is append-only'); END""",
    "cases_never_deleted": """CREATE TRIGGER cases_never_deleted
    BEFORE DELETE ON cases
    BEGIN SELECT RAISE(ABORT, 'cases are never deleted'); END""",
}

SQLITE_V2_GUARDS = frozen_mapping({
    "case_events_no_replace": """CREATE TRIGGER case_events_no_replace
    BEFORE INSERT ON case_events
    WHEN EXISTS (SELECT 1 FROM case_events WHERE case_id = NEW.case_id AND seq = NEW.seq)
    BEGIN SELECT RAISE(ABORT, 'case history is append-only: a stored event stays'); END""",
    "cases_no_replace": """CREATE TRIGGER cases_no_replace
    BEFORE INSERT ON cases
    WHEN EXISTS (SELECT 1 FROM cases WHERE case_id = NEW.case_id
                 OR (patient_id = NEW.patient_id AND episode = NEW.episode))
    BEGIN SELECT RAISE(ABORT, 'a stored case cannot be written again'); END""",
    "cases_one_open": f"""CREATE TRIGGER cases_one_open
    BEFORE INSERT ON cases
    WHEN NEW.status != 'closed' AND EXISTS (SELECT 1 FROM cases
         WHERE patient_id = NEW.patient_id AND status != 'closed')
    BEGIN SELECT RAISE(ABORT, '{OPEN_CASE_REFUSED}'); END""",
    "cases_follow_history": """CREATE TRIGGER cases_follow_history
    BEFORE UPDATE ON cases
    WHEN NEW.case_id IS NOT OLD.case_id OR NEW.patient_id IS NOT OLD.patient_id
         OR NEW.episode IS NOT OLD.episode OR NEW.version <= OLD.version
         OR NEW.version IS NOT (SELECT MAX(seq) FROM case_events WHERE case_id = OLD.case_id)
    BEGIN SELECT RAISE(ABORT, 'a case changes only by appending to its history'); END""",
})

_PG_APPEND_ONLY = """CREATE FUNCTION case_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'case history is append-only: % refused', TG_OP; END $$"""

_PG_FOLLOWS = """CREATE FUNCTION case_follows_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
IF NEW.case_id IS DISTINCT FROM OLD.case_id OR NEW.patient_id IS DISTINCT FROM OLD.patient_id
   OR NEW.episode IS DISTINCT FROM OLD.episode OR NEW.version <= OLD.version
   OR NEW.version IS DISTINCT FROM (SELECT MAX(seq) FROM case_events
                                    WHERE case_id = OLD.case_id) THEN
  RAISE EXCEPTION 'a case changes only by appending to its history';
END IF;
RETURN NEW;
END $$"""

_POSTGRES_GUARDS = {
    "function case_append_only": _PG_APPEND_ONLY,
    "function case_follows_history": _PG_FOLLOWS,
    "case_events_append_only": "CREATE TRIGGER case_events_append_only BEFORE DELETE OR UPDATE "
                               "ON case_events FOR EACH ROW EXECUTE FUNCTION case_append_only()",
    "case_events_no_truncate": "CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON "
                               "case_events FOR EACH STATEMENT EXECUTE FUNCTION "
                               "case_append_only()",
    "cases_never_deleted": "CREATE TRIGGER cases_never_deleted BEFORE DELETE ON cases "
                           "FOR EACH ROW EXECUTE FUNCTION case_append_only()",
    "cases_no_truncate": "CREATE TRIGGER cases_no_truncate BEFORE TRUNCATE ON cases "
                         "FOR EACH STATEMENT EXECUTE FUNCTION case_append_only()",
    "cases_follow_history": "CREATE TRIGGER cases_follow_history BEFORE UPDATE ON cases "
                            "FOR EACH ROW EXECUTE FUNCTION case_follows_history()",
}

CASE_SCHEMA = Schema(
    name="case",
    version=SCHEMA_VERSION,
    version_table="case_schema",
    tables=_TABLES,
    columns={"cases": ("case_id", "patient_id", "episode", "status", "level", "version"),
             "case_events": ("case_id", "seq", "kind", "at", "body")},
    guards={"sqlite": {**_SQLITE_V1_GUARDS, **SQLITE_V2_GUARDS},
            "postgresql": _POSTGRES_GUARDS},
)
