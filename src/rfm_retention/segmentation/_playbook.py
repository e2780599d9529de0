"""The outreach playbook: what staff should do for each segment, as data a host can change.

The default playbook is SPEC section 2's strategy table: exclusive service for
core patients, value uplift, frequency uplift, general maintenance, priority
activation in a caring tone for at-risk patients, win-back, reactivation, and
explicitly *no outreach* for inactive patients (spend no resources). A host
replaces any entry with :meth:`SegmentPlaybook.with_action` or builds its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._frozen import frozen_mapping
from rfm_retention._tabular import Tabular, row_position
from rfm_retention.data._table import IdArray
from rfm_retention.errors import ConfigError
from rfm_retention.segmentation._results import Segmentation

__all__ = [
    "ACTIONS",
    "EIGHT_SEGMENT_PLAYBOOK",
    "TEN_SEGMENT_PLAYBOOK",
    "RecommendedActions",
    "SegmentAction",
    "SegmentPlaybook",
    "actions",
]


@attrs.frozen
class SegmentAction:
    """One recommended action: what to do, through which channel, by whom, how urgently.

    ``priority`` orders work lists: 1 is the most urgent. ``outreach=False``
    means "do not contact" (the inactive segment), so a host can filter call
    lists on it instead of on an action code.

    Example:
        >>> ACTIONS["priority_activation"].owner_role
        'attending_doctor'
    """

    code: str
    channel: str
    owner_role: str
    description: str
    description_zh: str
    priority: int
    message_guidance: str = ""
    message_guidance_zh: str = ""
    outreach: bool = True


_CARING = (
    "Caring tone, not a sales call: \"We noticed you haven't been back for a while - did "
    "something get in the way? How are you feeling?\" rather than a bare \"Time for your "
    "revisit.\""
)
_CARING_ZH = (
    "用关怀的语气：“我们注意到您有一段时间没来了，是遇到什么问题了吗？身体怎么样？”，"
    "而不是生硬的“该复诊了”。"
)

ACTIONS: Mapping[str, SegmentAction] = frozen_mapping({
    a.code: a
    for a in (
        SegmentAction(
            "exclusive_service", "dedicated_steward", "health_steward",
            "Exclusive service: a dedicated health steward, 1:1 health management, regular "
            "contact, revisit reminders, reachable any time.",
            "专属服务：配备专属健康管家，一对一健康管理，定期联系，复诊提醒，随时响应。",
            priority=2,
        ),
        SegmentAction(
            "value_uplift", "in_visit", "service_advisor",
            "Value uplift: offer add-on services (health assessment, rehabilitation guidance, "
            "nutrition advice) and a paid health upgrade package.",
            "价值提升：推荐增值服务（健康评估、康复指导、营养建议），推出付费“健康升级包”。",
            priority=3,
        ),
        SegmentAction(
            "frequency_uplift", "follow_up", "follow_up_nurse",
            "Frequency uplift: monitoring and follow-up (regular checks, condition follow-up, "
            "medication reminders) and a health monitoring package (home BP/glucose meter, "
            "regular data review, alerts on abnormal readings).",
            "频次提升：监测与随访（定期检查、病情随访、用药提醒），推出“健康监测包”（家用血压计/血糖仪、"
            "定期数据解读、异常预警）。",
            priority=3,
        ),
        SegmentAction(
            "general_maintenance", "official_account", "marketing",
            "General maintenance: everyday care content and routine reminders.",
            "一般维护：日常关怀内容与常规提醒。",
            priority=6,
        ),
        SegmentAction(
            "priority_activation", "phone", "attending_doctor",
            "Priority activation: personal contact (phone call, home visit, exclusive offer) "
            "to find out why the patient stopped coming.",
            "重点激活：个人联系（电话、上门拜访、专属优惠），了解患者未复诊的原因。",
            priority=1,
            message_guidance=_CARING,
            message_guidance_zh=_CARING_ZH,
        ),
        SegmentAction(
            "win_back", "sms_wechat", "customer_service",
            "Win-back: a care message with a returning-patient offer.",
            "挽回：发送关怀信息并附回头客优惠。",
            priority=5,
        ),
        SegmentAction(
            "reactivation", "phone", "customer_service",
            "Try to activate: a follow-up call with a health reminder and an offer.",
            "尝试激活：回访电话，附健康提醒和优惠。",
            priority=4,
        ),
        SegmentAction(
            "post_visit_follow_up", "sms_wechat", "follow_up_nurse",
            "Post-visit follow-up: guidance after the first visit and a revisit reminder.",
            "诊后随访：首诊后的健康指导与复诊提醒。",
            priority=4,
        ),
        SegmentAction(
            "no_outreach", "none", "none",
            "No outreach: low value; spend no resources on this patient.",
            "不投入资源：低价值患者，不做主动触达。",
            priority=9,
            outreach=False,
        ),
    )
})
"""Every built-in action by code (the vocabulary the presets are written in)."""


def _checked(value: Mapping[str, SegmentAction]) -> Mapping[str, SegmentAction]:
    out = {str(k): v for k, v in value.items()}
    for segment, action in out.items():
        if not isinstance(action, SegmentAction):
            raise ConfigError(f"playbook entry for {segment!r} is not an Action: {action!r}")
    return frozen_mapping(out)


@attrs.frozen
class SegmentPlaybook:
    """Segment code -> :class:`SegmentAction`: data; copy a preset and change what the host does.

    Example:
        >>> custom = EIGHT_SEGMENT_PLAYBOOK.with_action("lost", ACTIONS["no_outreach"])
        >>> custom.action_for("lost").outreach
        False
    """

    name: str
    entries: Mapping[str, SegmentAction] = attrs.field(converter=_checked)

    def action_for(self, segment: str) -> SegmentAction:
        """The action for one segment code; ConfigError if the playbook has none."""
        try:
            return self.entries[str(segment)]
        except KeyError:
            raise ConfigError(
                f"playbook {self.name!r} has no action for segment {segment!r}; "
                f"it covers {sorted(self.entries)}"
            ) from None

    def with_action(self, segment: str, action: SegmentAction) -> SegmentPlaybook:
        """A copy with one segment's action replaced (or added)."""
        return SegmentPlaybook(self.name, {**self.entries, str(segment): action})

    def actions(self, segmentation: Segmentation) -> RecommendedActions:
        """Each patient's recommended action (every segment of the map must be covered)."""
        codes = segmentation.segment_map.codes
        missing = [c for c in codes if c not in self.entries]
        if missing:
            raise ConfigError(
                f"playbook {self.name!r} has no action for segment(s) {missing} of map "
                f"{segmentation.segment_map.name!r}. Hint: add them with with_action()."
            )
        table = tuple(self.entries[c] for c in codes)
        return RecommendedActions(
            patient_id=segmentation.patient_id,
            segment=segmentation.segment,
            per_segment=table,
            segment_codes=codes,
        )


@attrs.frozen(eq=False)
class RecommendedActions(Tabular):
    """Recommended action of every patient, in the segmentation's row order.

    ``per_segment[i]`` is the action of segment ``segment_codes[i]``; the
    per-patient arrays are one lookup away, so a million patients cost
    nothing extra.
    """

    patient_id: IdArray = attrs.field(repr=False)
    segment: npt.NDArray[np.int8] = attrs.field(repr=False)
    per_segment: tuple[SegmentAction, ...]
    segment_codes: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.patient_id.shape[0])

    def _column(self, field: str) -> npt.NDArray[Any]:
        return np.asarray([getattr(a, field) for a in self.per_segment])[self.segment]

    @property
    def codes(self) -> npt.NDArray[np.str_]:
        """SegmentAction code of every patient."""
        return self._column("code")

    @property
    def priority(self) -> npt.NDArray[np.int64]:
        """Priority of every patient's action (1 = most urgent)."""
        return self._column("priority").astype(np.int64)

    @property
    def outreach(self) -> npt.NDArray[np.bool_]:
        """Whether each patient should be contacted at all."""
        return self._column("outreach").astype(bool)

    def for_patient(self, patient_id: Any) -> SegmentAction:
        """The action of one patient; KeyError if the patient is not in the snapshot."""
        return self.record(self.row_of(patient_id))

    def row_of(self, patient_id: Any) -> int:
        """Row of one patient; KeyError if the patient is not in the snapshot."""
        missing = f"patient {patient_id!r} is not in this segmentation"
        return row_position(self.patient_id, patient_id, missing)

    def record(self, row: int) -> SegmentAction:
        """The action of the patient at ``row``."""
        return self.per_segment[int(self.segment[row])]

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """Column name -> array: patient id, action, channel, owner role, priority, outreach."""
        return {
            "patient_id": self.patient_id,
            "action": self.codes,
            "channel": self._column("channel"),
            "owner_role": self._column("owner_role"),
            "priority": self.priority,
            "outreach": self.outreach,
        }


EIGHT_SEGMENT_PLAYBOOK = SegmentPlaybook(
    "eight",
    {
        "core": ACTIONS["exclusive_service"],
        "value": ACTIONS["value_uplift"],
        "potential": ACTIONS["frequency_uplift"],
        "general": ACTIONS["general_maintenance"],
        "at_risk": ACTIONS["priority_activation"],
        "lost": ACTIONS["win_back"],
        "dormant": ACTIONS["reactivation"],
        "inactive": ACTIONS["no_outreach"],
    },
)
"""SPEC section 2's strategy for each of the eight segments."""

TEN_SEGMENT_PLAYBOOK = SegmentPlaybook(
    "ten",
    {
        "champions": ACTIONS["exclusive_service"],
        "loyal": ACTIONS["value_uplift"],
        "potential_loyalist": ACTIONS["frequency_uplift"],
        "new": ACTIONS["post_visit_follow_up"],
        "promising": ACTIONS["frequency_uplift"],
        "need_attention": ACTIONS["general_maintenance"],
        "about_to_sleep": ACTIONS["reactivation"],
        "at_risk": ACTIONS["priority_activation"],
        "cant_lose": ACTIONS["priority_activation"],
        "hibernating": ACTIONS["win_back"],
    },
)
"""The same strategies applied to the 10-segment score map's segments."""

_BY_MAP = {"eight": EIGHT_SEGMENT_PLAYBOOK, "ten": TEN_SEGMENT_PLAYBOOK}


def actions(
    segmentation: Segmentation, playbook: SegmentPlaybook | None = None
) -> RecommendedActions:
    """Each patient's recommended action; the playbook defaults to the one for the map used.

    Maps built by :func:`~rfm_retention.segmentation._maps.eight_segments_from_scores`
    use the eight-segment playbook; any other map needs an explicit playbook.

    Example:
        >>> import datetime as dt
        >>> from rfm_retention.features import PatientFeatures
        >>> from rfm_retention.segmentation import eight_segments
        >>> f = PatientFeatures.from_rfm(as_of=dt.date(2024, 6, 30), patient_id=[1, 2, 3, 4],
        ...     days_since_last_visit=[5, 10, 200, 300], visits_in_window=[6, 1, 5, 1],
        ...     spend_in_window=[900.0, 50.0, 800.0, 40.0])
        >>> actions(eight_segments().fit_assign(f)).codes.tolist()
        ['exclusive_service', 'general_maintenance', 'priority_activation', 'no_outreach']
    """
    if playbook is None:
        name = segmentation.segment_map.name
        if name.startswith("eight"):
            playbook = EIGHT_SEGMENT_PLAYBOOK
        elif name in _BY_MAP:
            playbook = _BY_MAP[name]
        else:
            raise ConfigError(
                f"no default playbook for segment map {name!r}. Hint: pass playbook=..."
            )
    return playbook.actions(segmentation)
