"""Test settings: hypothesis without deadlines (shared CI machines are noisy)."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=60
)
settings.register_profile("thorough", deadline=None, max_examples=500)
settings.load_profile("default")
