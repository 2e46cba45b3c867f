"""Blue/green Airflow (``kind: blue_green``): one environment served by two local Airflows, so
that a release changing the runtime (Airflow version, requirements, constraints, plugins) runs
in an Airflow built for it and goes live by a cutover (``runtimes/airflow/blue_green.py``).

Each color is a ``kind: local`` block (its own port, log server port and home); blue is the
color `release-assets local up` starts, green is started from a release's runtime the first
time a release needs it. The environment's data (warehouse, sources, lake, feature flags) is
blue's home: both colors read and write the same data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from release_assets.config.deployment_specs import (
    STATE_DIR_PLACEHOLDER,
    LocalAirflowSpec,
    StatePath,
    _Spec,
    expand_path,
)


class BlueGreenAirflowSpec(_Spec):
    """``blue`` and ``green``: the two colors' local Airflows (home defaults:
    ``{state_dir}/envs/<env>`` and ``{state_dir}/envs/<env>-green``); ``keep_warm_minutes``:
    how long the color cut away from keeps running, so that a rollback is a cut back (0: stopped
    by the next release step); ``drain_timeout_s``: how long a cutover waits for the runs in
    flight of the old color's DAGs to end (the cutover is abandoned, nothing moved, after it);
    ``serve_timeout_s``: how long the new color may take to list the release's DAGs;
    ``state_file``: where the active color and the cutovers are kept (default
    ``{state_dir}/envs/<env>/blue_green.json``)."""

    kind: Literal["blue_green"]
    blue: LocalAirflowSpec
    green: LocalAirflowSpec
    keep_warm_minutes: float = Field(default=60.0, ge=0)
    drain_timeout_s: float = Field(default=1800.0, gt=0, le=86400)
    serve_timeout_s: float = Field(default=240.0, gt=0, le=3600)
    state_file: StatePath | None = None

    @model_validator(mode="after")
    def _own_homes(self) -> Self:
        if self.blue.home is not None and self.blue.home == self.green.home:
            raise PydanticCustomError(
                "blue_green", "blue and green need their own home (each is a separate Airflow)"
            )
        return self

    def colors(self) -> dict[str, LocalAirflowSpec]:
        """``{"blue": ..., "green": ...}``."""
        return {"blue": self.blue, "green": self.green}

    def resolve(self, state_dir: Path, env: str) -> Self:
        """Every path made absolute, the defaults above filled in."""
        state_file = self.state_file or f"{STATE_DIR_PLACEHOLDER}/envs/{env}/blue_green.json"
        return self.model_copy(
            update={
                "blue": self.blue.resolve(state_dir, env),
                "green": self.green.resolve(state_dir, f"{env}-green"),
                "state_file": expand_path(state_file, state_dir),
            }
        )
