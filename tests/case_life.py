"""One case's whole life through the command line, run against any case database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rfm_retention.cli import main
from rfm_retention.interventions import CaseBook, CaseStatus, Outcome

WARNING = (
    "patient_id,level,score,reason,evidence,change\n"
    "P000113,high,86.2,efficacy,course abandoned at 3/10 sessions,new\n"
)


def live_a_case(db: str, folder: Path, capsys: Any, open_store: Callable[[], Any]) -> None:
    """open, refused close, contact, plan, close, refused contact, show, reopen, close again.

    ``open_store`` opens the database ``db`` names, once the CLI has created it.
    """
    warnings = folder / "warnings.csv"
    warnings.write_text(WARNING, encoding="utf-8")
    case = ["--db", db, "--case", "P000113#1"]
    assert main(["cases", "open", "--warnings", str(warnings), "--db", db,
                 "--at", "2024-05-06T07:00"]) == 0
    capsys.readouterr()
    # won_back before anyone reached the patient: the state machine refuses, nothing stored
    assert main(["cases", "close", *case, "--outcome", "won_back", "--at", "2024-05-06T08:00",
                 "--actor", "dr.chen"]) == 2
    err = capsys.readouterr().err
    assert "case P000113#1: outcome won_back needs a contact in which the patient was reached" \
        in err
    assert main(["cases", "contact", *case, "--channel", "phone", "--result", "reached",
                 "--at", "2024-05-06T10:30", "--actor", "dr.chen",
                 "--note", "knee still painful"]) == 0
    out = capsys.readouterr().out
    assert "case P000113#1: contact recorded; status in_progress" in out
    assert "first_contact met 2024-05-06 10:30" in out
    assert main(["cases", "plan", *case, "--at", "2024-05-06T11:00", "--actor", "dr.chen"]) == 0
    assert "retention_plan met 2024-05-06 11:00" in capsys.readouterr().out
    assert main(["cases", "close", *case, "--outcome", "won_back", "--at", "2024-05-13T09:00",
                 "--actor", "dr.chen", "--note", "booked a revisit"]) == 0
    assert "closed; status closed, outcome won_back" in capsys.readouterr().out
    # a closed case takes no contact until it is reopened
    assert main(["cases", "contact", *case, "--channel", "sms", "--result", "message_sent",
                 "--at", "2024-05-14T10:00", "--actor", "ms.lin"]) == 2
    err = capsys.readouterr().err
    assert "case P000113#1: is closed (won_back): no contact on a closed case" in err
    # a word outside the vocabulary is refused by the parser, listing the allowed ones
    with pytest.raises(SystemExit) as refused:
        main(["cases", "contact", *case, "--channel", "fax", "--result", "reached",
              "--at", "2024-05-14T10:00", "--actor", "ms.lin"])
    assert refused.value.code == 2
    assert "'fax' is not one of phone, sms" in capsys.readouterr().err
    assert main(["cases", "show", *case]) == 0
    shown = capsys.readouterr().out
    assert "closed, outcome won_back" in shown
    for line in ("contact  phone reached (care): knee still painful",
                 "plan     plan second_treatment_plan",
                 "closed   outcome won_back: booked a revisit"):
        assert line in shown
    # reopened (the patient missed the booked visit), then closed again as lost
    assert main(["cases", "reopen", *case, "--at", "2024-05-20T09:00", "--actor", "ms.lin",
                 "--reason", "missed the booked visit"]) == 0
    assert "reopened; status in_progress" in capsys.readouterr().out
    assert main(["cases", "close", *case, "--outcome", "lost", "--at", "2024-05-27T09:00",
                 "--actor", "ms.lin"]) == 0
    capsys.readouterr()
    assert main(["cases", "show", *case]) == 0
    shown = capsys.readouterr().out
    assert "reopened  reopened: missed the booked visit" in shown
    assert "closed, outcome lost" in shown
    with open_store() as store:
        stored = CaseBook(store).get("P000113#1")
    assert stored.status is CaseStatus.CLOSED
    assert stored.outcome is Outcome.LOST
    assert stored.closed_at == dt.datetime(2024, 5, 27, 9, 0)
    assert stored.reopen_count == 1
    assert [c.note for c in stored.contacts] == ["knee still painful"]
    assert stored.version == 6
