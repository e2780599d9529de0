"""Consent and do-not-contact rules, care message batches, staff notifiers."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from rfm_retention.errors import ConfigError, ContactRefused
from rfm_retention.interventions import (
    CARE_TEMPLATES,
    SPEC_PLAYBOOK,
    Action,
    CallbackNotifier,
    CaseBook,
    Channel,
    Consent,
    ContactResult,
    ContactRules,
    InMemoryCaseStore,
    JsonLinesNotifier,
    MessageTemplate,
    Notifier,
    Purpose,
    compose_care_batch,
)
from rfm_retention.risk import WarningRecord
from rfm_retention.vocabulary import ReasonCode, RiskLevel

T0 = dt.datetime(2024, 5, 6, 9, 0)
H = dt.timedelta(hours=1)


def test_defaults_allow_care_and_require_marketing_opt_in():
    """Silence allows care contact but not marketing; both defaults are switchable."""
    rules = ContactRules()
    assert rules.allows("p1", Channel.SMS, Purpose.CARE)
    assert "has not agreed" in rules.why_not("p1", Channel.SMS, Purpose.MARKETING)
    assert ContactRules(marketing_default=True).allows("p1", Channel.SMS, Purpose.MARKETING)
    assert not ContactRules(care_default=False).allows("p1", Channel.PHONE, Purpose.CARE)


def test_channel_statement_beats_patient_wide_statement():
    """Opted in to marketing on WeChat only, out everywhere else."""
    rules = ContactRules([Consent("p1", marketing=False), Consent("p1", "wechat", marketing=True)])
    assert rules.allows("p1", Channel.WECHAT, Purpose.MARKETING)
    assert not rules.allows("p1", Channel.SMS, Purpose.MARKETING)
    assert rules.allows("p1", Channel.SMS, Purpose.CARE)


def test_do_not_contact_refuses_everything():
    """Do-not-contact (patient-wide or per channel) overrides any consent."""
    rules = ContactRules([
        Consent("p1", care=True, marketing=True, do_not_contact=True),
        Consent("p2", "phone", do_not_contact=True),
    ])
    assert "do-not-contact" in rules.why_not("p1", Channel.SMS, Purpose.CARE)
    assert not rules.allows("p2", Channel.PHONE, Purpose.CARE)
    assert rules.allows("p2", Channel.SMS, Purpose.CARE)


def test_later_statement_replaces_earlier():
    """A patient who opts back in is marketable again on that scope."""
    rules = ContactRules([Consent("p1", marketing=False)])
    rules.record(Consent("p1", marketing=True))
    assert rules.allows("p1", Channel.EMAIL, Purpose.MARKETING)


def test_marketing_contact_to_opted_out_patient_is_refused():
    """A marketing call to an opted-out patient raises ContactRefused and records nothing."""
    rules = ContactRules([Consent("p1", marketing=False)])
    book = CaseBook(InMemoryCaseStore(), contact_rules=rules)
    book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    with pytest.raises(ContactRefused, match="opted out of marketing"):
        book.record_contact("p1#1", at=T0 + H, actor="amy", channel=Channel.PHONE,
                            result=ContactResult.REACHED, purpose=Purpose.MARKETING)
    assert book.get("p1#1").version == 1
    book.record_contact("p1#1", at=T0 + H, actor="amy", channel=Channel.PHONE,
                        result=ContactResult.REACHED)
    assert len(book.get("p1#1").contacts) == 1


def test_offer_plan_for_opted_out_patient_is_refused_care_plan_allowed():
    """The price plan is an offer (marketing): refused without consent; a care plan is not."""
    rules = ContactRules([Consent("p1", marketing=False)])
    book = CaseBook(InMemoryCaseStore(), contact_rules=rules)
    book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    with pytest.raises(ContactRefused):
        book.record_plan("p1#1", at=T0 + H, actor="amy")
    case = book.record_plan("p1#1", at=T0 + H, actor="amy", code="caring_check_in")
    assert case.plan.purpose.value == "care"
    book.intake(WarningRecord("p2", RiskLevel.HIGH, ReasonCode.SERVICE), T0)
    with pytest.raises(ContactRefused):  # an offer is marketing whatever the case's reason
        CaseBook(book.store, contact_rules=ContactRules()).record_plan(
            "p2#1", at=T0 + H, actor="amy", code="offer")


def test_offer_plan_allowed_when_one_channel_consents():
    """An offer is fine when the patient accepts marketing on at least the chosen channel."""
    rules = ContactRules([Consent("p1", "wechat", marketing=True)])
    book = CaseBook(InMemoryCaseStore(), contact_rules=rules)
    book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    with pytest.raises(ContactRefused):
        book.record_plan("p1#1", at=T0 + H, actor="amy", channel=Channel.SMS)
    assert book.record_plan("p1#1", at=T0 + H, actor="amy",
                            channel=Channel.WECHAT).plan.code == "offer"


def test_inbound_contact_is_recorded_despite_do_not_contact():
    """A patient who calls in is recorded even when staff may not call them."""
    rules = ContactRules([Consent("p1", do_not_contact=True)])
    book = CaseBook(InMemoryCaseStore(), contact_rules=rules)
    book.intake(WarningRecord("p1", RiskLevel.MEDIUM, ReasonCode.SERVICE), T0)
    with pytest.raises(ContactRefused):
        book.record_contact("p1#1", at=T0 + H, actor="amy", channel=Channel.PHONE,
                            result=ContactResult.REACHED)
    case = book.record_contact("p1#1", at=T0 + H, actor="amy", channel=Channel.PHONE,
                               result=ContactResult.REACHED, inbound=True)
    assert case.contacts[0].inbound


def _medium_book():
    book = CaseBook(InMemoryCaseStore())
    book.intake(WarningRecord("p1", RiskLevel.MEDIUM, ReasonCode.EFFICACY), T0)
    book.intake(WarningRecord("p2", RiskLevel.MEDIUM, ReasonCode.BEHAVIOUR_ONLY), T0)
    book.intake(WarningRecord("p3", RiskLevel.MEDIUM, ReasonCode.SERVICE), T0)
    book.intake(WarningRecord("p4", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    return book


def test_care_batch_covers_medium_cases_with_reason_templates():
    """Medium cases get their reason's text; high cases are left to one-to-one follow-up."""
    batch = compose_care_batch(
        _medium_book().cases(), channel=Channel.SMS, hospital="Riverside", contact_line="0571-1",
        details={"p1": {"name": "Ms Chen", "department": "orthopaedics"}},
    )
    by_patient = {m.patient_id: m for m in batch.messages}
    assert sorted(by_patient) == ["p1", "p2", "p3"]
    assert by_patient["p1"].template == "care_efficacy"
    assert "Ms Chen" in by_patient["p1"].text
    assert "orthopaedics" in by_patient["p1"].text
    assert by_patient["p2"].template == "care_general"
    assert "Dear patient" in by_patient["p2"].text
    assert by_patient["p3"].template == "care_service"


def test_care_batch_skips_refused_and_incomplete():
    """Do-not-contact and a missing detail are reported as skipped, with the reason."""
    rules = ContactRules([Consent("p2", "sms", care=False)])
    batch = compose_care_batch(
        _medium_book().cases(), channel=Channel.SMS, hospital="Riverside", contact_line="0571-1",
        rules=rules, default_name="",
    )
    skipped = {s.patient_id: s.reason for s in batch.skipped}
    assert "opted out of care" in skipped["p2"]
    assert skipped["p1"] == "missing name"
    assert batch.messages == ()


def test_default_templates_speak_in_a_caring_tone():
    """Every default text asks an open question and never says a bare 'time for your revisit'."""
    for template in CARE_TEMPLATES:
        assert "?" in template.text
        assert "time for your revisit" not in template.text.lower()
        assert template.purpose.value == "care"


@pytest.mark.parametrize("text", ["Hi {patient}", "Hi {name!r}", "Hi {name:>10}", "Hi {"])
def test_bad_templates_are_refused(text):
    """Unknown placeholders, conversions and broken braces are configuration errors."""
    with pytest.raises(ConfigError):
        MessageTemplate("bad", text)


def test_json_lines_notifier_appends_one_object_per_notice(tmp_path):
    """New high-risk cases land in the file as one JSON object per line."""
    path = tmp_path / "notices.jsonl"
    notifier = JsonLinesNotifier(path)
    assert isinstance(notifier, Notifier)
    book = CaseBook(InMemoryCaseStore(), notifier=notifier)
    book.intake(
        WarningRecord("p1", RiskLevel.HIGH, ReasonCode.EFFICACY, evidence="course abandoned"), T0
    )
    book.intake(WarningRecord("p2", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [n["patient_id"] for n in lines] == ["p1", "p2"]
    assert lines[0]["kind"] == "new_case"
    assert lines[0]["roles"] == ["customer_service_manager", "attending_doctor"]
    assert lines[0]["at"] == "2024-05-06T09:00:00"
    assert lines[0]["summary"] == "course abandoned"


def test_failed_new_case_notice_is_retried_by_the_next_intake():
    """A failing notifier fails the call loudly; the next scan's intake delivers the notice."""
    inbox, down = [], [True]

    def pager(notice):
        if down[0]:
            raise RuntimeError("pager down")
        inbox.append(notice)

    book = CaseBook(InMemoryCaseStore(), notifier=CallbackNotifier(pager))
    with pytest.raises(RuntimeError, match="pager down"):
        book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    assert book.get("p1#1").notified == ()
    down[0] = False
    book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0 + 24 * H)
    book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0 + 48 * H)
    assert [(n.kind.value, n.at) for n in inbox] == [("new_case", T0)]
    assert book.get("p1#1").notified == ("new_case:high",)


def test_care_batch_messages_each_case_once_unless_resend_is_due():
    """A case messaged yesterday is skipped today; with resend_after it is messaged again later."""
    book = CaseBook(InMemoryCaseStore())
    book.intake(WarningRecord("p1", RiskLevel.MEDIUM, ReasonCode.PRICE), T0)
    first = compose_care_batch(book.cases(), channel=Channel.SMS, hospital="H", contact_line="1")
    assert len(first.messages) == 1
    book.record_contact("p1#1", at=T0 + H, actor="sms-gateway", channel=Channel.SMS,
                        result=ContactResult.MESSAGE_SENT)
    again = compose_care_batch(book.cases(), channel=Channel.SMS, hospital="H", contact_line="1")
    assert again.messages == ()
    assert again.skipped[0].reason.startswith("already messaged")
    month = dt.timedelta(days=30)
    early = compose_care_batch(book.cases(), channel=Channel.SMS, hospital="H", contact_line="1",
                               as_of=T0 + 10 * 24 * H, resend_after=month)
    later = compose_care_batch(book.cases(), channel=Channel.SMS, hospital="H", contact_line="1",
                               as_of=T0 + 31 * 24 * H, resend_after=month)
    assert early.messages == ()
    assert len(later.messages) == 1
    with pytest.raises(ConfigError, match="as_of"):
        compose_care_batch(book.cases(), channel=Channel.SMS, hospital="H", contact_line="1",
                           resend_after=month)


@pytest.mark.parametrize(
    ("call", "hint"),
    [
        (lambda: ContactRules().allows("p1", "sms", Purpose.CARE), "channel=Channel.SMS"),
        (lambda: ContactRules().why_not("p1", Channel.SMS, "marketing"),
         "purpose=Purpose.MARKETING"),
        (lambda: ContactRules().check("p1", "fax", Purpose.CARE),
         "channel= takes one of Channel.PHONE, Channel.SMS"),
        (lambda: compose_care_batch((), channel="sms", hospital="H", contact_line="1"),
         "channel=Channel.SMS"),
        (lambda: Action("call", "Call", channels=("phone",)), "channels=Channel.PHONE"),
        (lambda: Action("offer", "Offer", purpose="marketing"), "purpose=Purpose.MARKETING"),
        (lambda: MessageTemplate("offer", "Dear {name}", purpose="marketing"),
         "purpose=Purpose.MARKETING"),
        (lambda: MessageTemplate("price", "Dear {name}", reasons=("price",)),
         "reasons=ReasonCode.PRICE (from rfm_retention.vocabulary import ReasonCode)"),
        (lambda: MessageTemplate("price", "Dear {name}", reasons=("cost",)),
         "reasons= takes one of ReasonCode.EFFICACY"),
        (lambda: compose_care_batch((), channel=Channel.SMS, hospital="H", contact_line="1",
                                    levels=(2,)), "levels=RiskLevel.MEDIUM"),
        (lambda: SPEC_PLAYBOOK.retention_plan("price"), "reason=ReasonCode.PRICE"),
    ],
)
def test_channel_and_purpose_given_as_text_are_refused_with_the_member_to_use(
    call: Any, hint: str
) -> None:
    """Contact rules, care batch, actions and templates take members, naming the one to pass."""
    with pytest.raises(ConfigError, match="Hint") as caught:
        call()
    assert hint in str(caught.value)
    assert "parses with" in str(caught.value)


@pytest.mark.parametrize("reasons", ["price", ReasonCode.PRICE])
def test_a_lone_reason_is_refused_rather_than_read_letter_by_letter(reasons: Any) -> None:
    """MessageTemplate(reasons=) takes a tuple; one text or member is refused with the tuple."""
    with pytest.raises(ConfigError, match=r"reasons=\(ReasonCode.PRICE,\)"):
        MessageTemplate("price", "Dear {name}", reasons=reasons)


def test_a_lone_level_is_refused_with_the_tuple_to_pass() -> None:
    """compose_care_batch(levels=) given one RiskLevel names the tuple to pass instead."""
    with pytest.raises(ConfigError, match=r"levels=\(RiskLevel.HIGH,\)"):
        compose_care_batch((), channel=Channel.SMS, hospital="H", contact_line="1",
                           levels=RiskLevel.HIGH)  # type: ignore[arg-type]


def test_a_template_keeps_the_reason_members_it_is_given() -> None:
    """Members pass through unchanged, in order, as the template's reasons."""
    template = MessageTemplate("t", "Dear {name}", reasons=[ReasonCode.TRUST, ReasonCode.PRICE])
    assert template.reasons == (ReasonCode.TRUST, ReasonCode.PRICE)
