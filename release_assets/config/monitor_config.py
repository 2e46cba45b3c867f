"""The post-release monitor's configuration, in two halves like approvals and promotion:

- :class:`MonitorPolicy`, the platform engineer's, per environment in the deployment
  configuration (``environments[].monitor``): how long a release is watched after it goes live
  (its bake), what a breach does (roll back, or alert only) and how often the sensor looks;
- :class:`MonitorSlos`, the team's, in ``release.yaml`` (``monitor:``): the default freshness
  SLO of the critical tables (``critical_tables[].freshness_slo_minutes`` overrides it).

The monitor itself is ``release_assets.core.monitor`` (signals) and
``release_assets.defs.monitor_sensor`` (the sensor).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MonitorPolicy(BaseModel):
    """How the post-release monitor watches one environment (``EnvironmentSpec.monitor``).

    - ``bake_minutes``: minutes (> 0, default 60) after a release went live during which it is
      watched; outside them the monitor does nothing;
    - ``on_breach``: ``rollback`` (default: the release is rolled back through the `rollback`
      job, with the breach as reason) or ``alert`` (the breach is recorded in the audit trail
      and shown, nothing is rolled back);
    - ``interval_seconds``: the sensor's minimum interval between evaluations (5..3600,
      default 30).

    Only the production environment's policy is read today (the monitor watches production).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    bake_minutes: float = Field(default=60.0, gt=0)
    on_breach: Literal["rollback", "alert"] = "rollback"
    interval_seconds: int = Field(default=30, ge=5, le=3600)


class MonitorSlos(BaseModel):
    """``release.yaml`` ``monitor:``: what the team promises about its live critical tables.

    - ``freshness_slo_minutes``: the most minutes (> 0) the newest value of a critical table's
      freshness column may lag behind now, for every critical table that does not set its own
      ``freshness_slo_minutes``. Default: none, so freshness is watched only where an SLO is
      given: one age cannot fit an hourly and a daily table, and a wrong default would roll
      back healthy releases. For a table loaded every N minutes with the seed target (updated
      within 15 minutes of its schedule), N + 15.

    It lives here rather than under ``judge:``: the judge compares a canary with its baseline
    before the swap; this is a promise about production after it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    freshness_slo_minutes: float | None = Field(default=None, gt=0)
