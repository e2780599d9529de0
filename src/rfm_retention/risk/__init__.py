"""Churn early warning: indicators, risk-level policies, the trainable score and the scan."""

from rfm_retention.risk.levels import Dimension, ReasonCode, RiskLevel

__all__ = ["Dimension", "ReasonCode", "RiskLevel"]
