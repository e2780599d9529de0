"""What staff do for each risk level and each churn reason, and by when (SPEC section 5).

The playbook is data, not code: a host copies :data:`SPEC_PLAYBOOK`, changes
an owner, a deadline or a plan with :func:`attrs.evolve` or the ``with_*``
helpers, and hands the result to a :class:`~rfm_retention.interventions.CaseBook`.

The source documents' defaults:

* **high** - one-to-one follow-up by a customer-service manager or the
  attending doctor; first contact within **24 h**, a retention plan within
  **48 h**, tailored to the churn reason;
* **medium** - batch care messages (SMS/WeChat) plus a monthly phone/WeChat
  follow-up;
* **low** - everyday care (official-account content, health talks),
  membership enrolment, word-of-mouth rewards.

The documents do not say whether "24 h" means clock hours or working hours,
nor who is told when a deadline slips; the preset counts clock hours (switch
with :meth:`Playbook.with_deadline_unit`) and tells the owners and a retention
supervisor, adding the department head after a further 24 h for high risk.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable

import attrs
from dateutil.relativedelta import relativedelta

from rfm_retention.errors import CaseError, ConfigError, RFMRetentionError
from rfm_retention.interventions._convert import text_tuple
from rfm_retention.interventions._vocabulary import (
    Channel,
    Milestone,
    Purpose,
    member,
    members,
    purpose_member,
)
from rfm_retention.interventions._working_calendar import WorkingCalendar
from rfm_retention.vocabulary import ReasonCode, RiskLevel

__all__ = [
    "ATTENDING_DOCTOR",
    "CARE_TEAM",
    "CUSTOMER_SERVICE_MANAGER",
    "DEPARTMENT_HEAD",
    "OWNERS",
    "RETENTION_SUPERVISOR",
    "SPEC_PLAYBOOK",
    "Action",
    "DeadlineRule",
    "DeadlineUnit",
    "EscalationRule",
    "LevelPlan",
    "Playbook",
    "RetentionPlan",
]

# Staff roles the preset names. Hosts use their own role names freely: a role
# is just the text a notifier routes on.
CUSTOMER_SERVICE_MANAGER = "customer_service_manager"
ATTENDING_DOCTOR = "attending_doctor"
CARE_TEAM = "care_team"
RETENTION_SUPERVISOR = "retention_supervisor"
DEPARTMENT_HEAD = "department_head"


class DeadlineUnit(enum.StrEnum):
    """How a deadline's amount is counted.

    ``clock_hours``: elapsed hours, nights and holidays included.
    ``working_hours``: hours inside the working calendar's opening spans only.
    ``calendar_months``: the same wall-clock time N months later (31 Jan + 1
    month = 29 Feb in a leap year).
    """

    CLOCK_HOURS = "clock_hours"
    WORKING_HOURS = "working_hours"
    CALENDAR_MONTHS = "calendar_months"


def _name(value: str) -> str:
    text = str(value).strip()
    if not text:
        raise ConfigError("a playbook name must not be empty")
    return text


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{type(instance).__name__}.{attribute.name} must be a positive "
                          f"whole number, got {value!r}")


@attrs.frozen
class DeadlineRule:
    """One "do X within N" promise of the playbook.

    Example:
        >>> import datetime as dt
        >>> rule = DeadlineRule("first_contact", 24, DeadlineUnit.WORKING_HOURS)
        >>> rule.due_from(dt.datetime(2024, 1, 5, 17), WorkingCalendar())  # Friday 17:00
        datetime.datetime(2024, 1, 10, 12, 30)

    Attributes:
        name: What is due (``"first_contact"``); unique within a level.
        amount: How many units.
        unit: How they are counted (:class:`DeadlineUnit`).
        met_by: Which event meets it (:class:`~rfm_retention.interventions.Milestone`).
    """

    name: str = attrs.field(converter=_name)
    amount: int = attrs.field(validator=_positive)
    unit: DeadlineUnit = attrs.field(default=DeadlineUnit.CLOCK_HOURS, converter=DeadlineUnit)
    met_by: Milestone = attrs.field(default=Milestone.ATTEMPT, converter=Milestone)

    def due_from(self, start: dt.datetime, calendar: WorkingCalendar) -> dt.datetime:
        """The instant this deadline falls due when its clock starts at ``start``.

        Calendar months are counted on the calendar's wall clock (31 March
        07:00 in Shanghai + 1 month is 30 April 07:00 there). A deadline past
        the last representable day (9999-12-31) is a
        :class:`~rfm_retention.errors.CaseError`.
        """
        try:
            if self.unit is DeadlineUnit.CLOCK_HOURS:
                return start + dt.timedelta(hours=self.amount)
            if self.unit is DeadlineUnit.WORKING_HOURS:
                return calendar.add_working_hours(start, self.amount)
            local: dt.datetime = calendar.local_time(start) + relativedelta(months=self.amount)
            return calendar.utc_time(local)
        except RFMRetentionError:
            raise
        except (OverflowError, ValueError) as exc:  # datetime's range ends at year 9999
            raise CaseError(
                f"deadline {self.name!r} ({self.amount} {self.unit.value} from "
                f"{start.isoformat(sep=' ', timespec='minutes')}) falls outside the dates a "
                f"calendar can hold (years 1 to 9999): {exc}"
            ) from None


def _channels(value: Iterable[Channel]) -> tuple[Channel, ...]:
    return members(Channel, value, "channels")


@attrs.frozen
class Action:
    """One thing staff do for a patient at some level (shown on the case, not enforced).

    Example:
        >>> Action("care_message", "Batch care message", channels=(Channel.SMS,)).purpose
        <Purpose.CARE: 'care'>
    """

    code: str = attrs.field(converter=_name)
    description: str
    channels: tuple[Channel, ...] = attrs.field(default=(), converter=_channels)
    purpose: Purpose = attrs.field(default=Purpose.CARE, converter=purpose_member)


def _actions(value: Iterable[Action]) -> tuple[Action, ...]:
    return tuple(value)


def _rules(value: Iterable[DeadlineRule]) -> tuple[DeadlineRule, ...]:
    return tuple(value)


def _unique(kind: str, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigError(f"playbook: {kind} {name!r} appears twice")
        seen.add(name)


@attrs.frozen
class LevelPlan:
    """What the playbook does at one risk level.

    Attributes:
        level: The risk level this plan is for.
        opens_case: Whether a warning at this level opens a case (every warning
            "must have a record, a follow-up and an outcome", so the preset says
            yes for low, medium and high).
        owners: Staff roles responsible for the case, told about new cases.
        actions: What they do.
        deadlines: What is due by when, counted from the warning.
        batch_message: Whether the patient goes into the batch of care messages.
    """

    level: RiskLevel = attrs.field(converter=RiskLevel)
    opens_case: bool = True
    owners: tuple[str, ...] = attrs.field(default=(), converter=text_tuple)
    actions: tuple[Action, ...] = attrs.field(default=(), converter=_actions)
    deadlines: tuple[DeadlineRule, ...] = attrs.field(default=(), converter=_rules)
    batch_message: bool = False

    def __attrs_post_init__(self) -> None:
        if self.level is RiskLevel.NONE and self.opens_case:
            raise ConfigError("playbook: risk level NONE cannot open cases")
        _unique("deadline", (d.name for d in self.deadlines))
        _unique("action", (a.code for a in self.actions))


@attrs.frozen
class RetentionPlan:
    """The retention plan the playbook suggests for one churn reason.

    Attributes:
        reason: The churn reason it answers.
        code: Short stable identifier recorded on cases (``"offer"``).
        title: One line for staff.
        steps: What to do, in order.
        purpose: ``marketing`` when the plan makes an offer (consent rules apply).
    """

    reason: ReasonCode = attrs.field(converter=ReasonCode)
    code: str = attrs.field(converter=_name)
    title: str
    steps: tuple[str, ...] = attrs.field(default=(), converter=text_tuple)
    purpose: Purpose = attrs.field(default=Purpose.CARE, converter=Purpose)


@attrs.frozen
class EscalationRule:
    """Who is told when a deadline is breached.

    A rule matches a breach when its level and deadline match (``None`` means
    any) and the deadline has been overdue for at least ``after_hours`` clock
    hours. All matching rules' roles are told.

    Example:
        >>> rule = EscalationRule(notify=("department_head",), level=RiskLevel.HIGH,
        ...                       after_hours=24)
        >>> rule.matches(RiskLevel.HIGH, "first_contact", overdue_hours=30)
        True
    """

    notify: tuple[str, ...] = attrs.field(converter=text_tuple)
    level: RiskLevel | None = attrs.field(
        default=None, converter=attrs.converters.optional(RiskLevel)
    )
    deadline: str | None = None
    after_hours: float = 0.0

    def __attrs_post_init__(self) -> None:
        if not self.notify:
            raise ConfigError("EscalationRule.notify needs at least one role")
        if self.after_hours < 0:
            raise ConfigError("EscalationRule.after_hours must be >= 0")

    def matches(self, level: RiskLevel, deadline: str, *, overdue_hours: float) -> bool:
        """Whether a breach of ``deadline`` on a ``level`` case, this late, triggers the rule."""
        return (
            (self.level is None or self.level == level)
            and (self.deadline is None or self.deadline == deadline)
            and overdue_hours >= self.after_hours
        )


def _levels(value: Iterable[LevelPlan]) -> tuple[LevelPlan, ...]:
    return tuple(value)


def _plans(value: Iterable[RetentionPlan]) -> tuple[RetentionPlan, ...]:
    return tuple(value)


def _escalations(value: Iterable[EscalationRule]) -> tuple[EscalationRule, ...]:
    return tuple(value)


# The owner role below is a stand-in the escalation rules resolve to the case's owners.
OWNERS = "@owners"


@attrs.frozen
class Playbook:
    """Level plans, reason plans and escalation rules: everything a case needs to know.

    Example:
        >>> SPEC_PLAYBOOK.level_plan(RiskLevel.HIGH).deadlines[0].amount
        24
        >>> SPEC_PLAYBOOK.retention_plan(ReasonCode.PRICE).code
        'offer'
    """

    levels: tuple[LevelPlan, ...] = attrs.field(converter=_levels)
    plans: tuple[RetentionPlan, ...] = attrs.field(converter=_plans)
    escalations: tuple[EscalationRule, ...] = attrs.field(default=(), converter=_escalations)

    def __attrs_post_init__(self) -> None:
        _unique("level", (p.level.label for p in self.levels))
        _unique("reason", (p.reason.value for p in self.plans))
        missing = set(ReasonCode) - {p.reason for p in self.plans}
        if missing:
            names = ", ".join(sorted(r.value for r in missing))
            raise ConfigError(f"playbook: no retention plan for reason(s) {names}")

    def level_plan(self, level: RiskLevel) -> LevelPlan | None:
        """The plan for ``level``, or ``None`` when the playbook has none (no case opens)."""
        for plan in self.levels:
            if plan.level == level:
                return plan
        return None

    def opens_case(self, level: RiskLevel) -> bool:
        """Whether a warning at ``level`` opens a case."""
        plan = self.level_plan(level)
        return plan is not None and plan.opens_case

    def retention_plan(self, reason: ReasonCode) -> RetentionPlan:
        """The retention plan suggested for ``reason`` (a :class:`ReasonCode`; text is refused)."""
        reason = member(ReasonCode, reason, "reason")
        return next(p for p in self.plans if p.reason is reason)

    def notify_for(
        self, level: RiskLevel, deadline: str, *, overdue_hours: float, owners: tuple[str, ...]
    ) -> tuple[str, ...]:
        """Roles to tell about a breach: every matching rule's, owners expanded, no repeats."""
        roles: list[str] = []
        for rule in self.escalations:
            if rule.matches(level, deadline, overdue_hours=overdue_hours):
                for role in rule.notify:
                    for name in owners if role == OWNERS else (role,):
                        if name not in roles:
                            roles.append(name)
        return tuple(roles)

    def with_level(self, plan: LevelPlan) -> Playbook:
        """A copy with ``plan`` replacing (or adding) the plan for its level."""
        others = tuple(p for p in self.levels if p.level != plan.level)
        return attrs.evolve(self, levels=tuple(sorted((*others, plan), key=lambda p: p.level)))

    def with_deadline_unit(self, unit: DeadlineUnit, *, of: DeadlineUnit | None = None) -> Playbook:
        """A copy whose hour-counted deadlines use ``unit`` (e.g. 24 *working* hours).

        Only deadlines currently counted in ``of`` change (default: clock hours,
        so month-based follow-ups keep their meaning).

        Example:
            >>> wp = SPEC_PLAYBOOK.with_deadline_unit(DeadlineUnit.WORKING_HOURS)
            >>> wp.level_plan(RiskLevel.HIGH).deadlines[0].unit.value
            'working_hours'
        """
        source = DeadlineUnit.CLOCK_HOURS if of is None else of
        unit = DeadlineUnit(unit)
        if unit is DeadlineUnit.CALENDAR_MONTHS:
            raise ConfigError("with_deadline_unit: convert hours to hours, not to months")
        levels = tuple(
            attrs.evolve(
                plan,
                deadlines=tuple(
                    attrs.evolve(d, unit=unit) if d.unit is source else d for d in plan.deadlines
                ),
            )
            for plan in self.levels
        )
        return attrs.evolve(self, levels=levels)


SPEC_PLAYBOOK = Playbook(
    levels=(
        LevelPlan(
            level=RiskLevel.LOW,
            owners=(CARE_TEAM,),
            actions=(
                Action("everyday_care", "Everyday care: official-account content, health talks",
                       channels=(Channel.WECHAT, Channel.APP)),
                Action("membership", "Invite to enrol in the membership programme",
                       purpose=Purpose.MARKETING),
                Action("word_of_mouth", "Word-of-mouth rewards for referrals",
                       purpose=Purpose.MARKETING),
            ),
        ),
        LevelPlan(
            level=RiskLevel.MEDIUM,
            owners=(CARE_TEAM,),
            actions=(
                Action("care_message", "Batch care message: health and revisit reminders",
                       channels=(Channel.SMS, Channel.WECHAT)),
                Action("monthly_follow_up", "Monthly phone or WeChat follow-up",
                       channels=(Channel.PHONE, Channel.WECHAT)),
                Action("service_feedback", "Tell the patient which service improvements were made"),
            ),
            deadlines=(DeadlineRule("follow_up", 1, DeadlineUnit.CALENDAR_MONTHS,
                                    Milestone.ATTEMPT),),
            batch_message=True,
        ),
        LevelPlan(
            level=RiskLevel.HIGH,
            owners=(CUSTOMER_SERVICE_MANAGER, ATTENDING_DOCTOR),
            actions=(
                Action("one_to_one", "One-to-one follow-up by the customer-service manager "
                       "or the attending doctor", channels=(Channel.PHONE, Channel.HOME_VISIT)),
                Action("retention_plan", "Retention plan tailored to the churn reason"),
            ),
            deadlines=(
                DeadlineRule("first_contact", 24, DeadlineUnit.CLOCK_HOURS, Milestone.ATTEMPT),
                DeadlineRule("retention_plan", 48, DeadlineUnit.CLOCK_HOURS, Milestone.PLAN),
            ),
        ),
    ),
    plans=(
        RetentionPlan(ReasonCode.PRICE, "offer", "Make an offer",
                      ("Offer the returning-patient package or a discount on the next visit",),
                      purpose=Purpose.MARKETING),
        RetentionPlan(ReasonCode.SERVICE, "dedicated_follow_up", "Dedicated follow-up",
                      ("Apologise and name what went wrong",
                       "Assign one named staff member as the patient's contact",
                       "Confirm the next visit personally")),
        RetentionPlan(ReasonCode.EFFICACY, "second_treatment_plan", "Second treatment plan",
                      ("Attending doctor reviews the course and outcome",
                       "Propose an adjusted treatment plan or a specialist consultation")),
        RetentionPlan(ReasonCode.COMPETITION, "convenience_review", "Answer what pulls them away",
                      ("Ask what the other provider offers (price, distance, specialty)",
                       "Offer priority booking or the revisit green channel")),
        RetentionPlan(ReasonCode.TRUST, "transparent_explanation", "Rebuild trust",
                      ("Explain the treatment and the charges openly",
                       "Offer a conversation with the attending doctor")),
        RetentionPlan(ReasonCode.BEHAVIOUR_ONLY, "caring_check_in", "Caring check-in",
                      ("Ask, caringly, whether something got in the way",
                       "Offer help booking the next visit")),
    ),
    escalations=(
        EscalationRule(notify=(OWNERS, RETENTION_SUPERVISOR)),
        EscalationRule(notify=(DEPARTMENT_HEAD,), level=RiskLevel.HIGH, after_hours=24),
    ),
)
"""The source documents' playbook (see the module docstring for what is a library default)."""
