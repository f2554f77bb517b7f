"""Hypothesis settings for the property tests: moderate by default (CI), more on demand.

``HYPOTHESIS_PROFILE=fuzz pytest tests/property`` runs each property twenty times as long.
No example database is written: a failure prints the example to reproduce it with.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("fuzz", parent=settings.get_profile("ci"), max_examples=3000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
