"""Synthetic cohorts and hypothesis strategies, for this library's tests and for yours."""
