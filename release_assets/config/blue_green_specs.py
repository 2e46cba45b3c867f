"""Blue/green Airflow (``kind: blue_green``): one environment served by two Airflows (colors),
so that a release changing the runtime (Airflow version, requirements, constraints, plugins)
runs in an Airflow built for it and goes live by a cutover (``runtimes/airflow/blue_green.py``).

Both colors are of one kind:

- ``kind: local`` (``BlueGreenAirflowSpec``): each its own port, log server port and home;
  blue is the color `release-assets local up` starts, green is started from a release's
  runtime the first time a release needs it. The environment's data (warehouse, sources, lake,
  feature flags) is blue's home: both colors read and write the same data.
- ``kind: mwaa`` (``MwaaBlueGreenAirflowSpec``): two MWAA environments; a runtime change is
  installed into the standby one by an environment update. The state is an S3 object.

``BlueGreenSpec`` is the union of both as the deployment file's ``airflow:`` takes it: the
colors' kind picks the class, and colors of two kinds are one error naming ``green``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from release_assets.config.deployment_specs import (
    STATE_DIR_PLACEHOLDER,
    LocalAirflowSpec,
    StatePath,
    _Spec,
    expand_path,
)
from release_assets.config.mwaa_specs import MwaaAirflowSpec


class _CutoverSpec(_Spec):
    """What both kinds of colors share: ``kind: blue_green`` and the cutover's windows
    (each subclass's docstring says what they mean for its colors)."""

    kind: Literal["blue_green"]
    keep_warm_minutes: float = Field(default=60.0, ge=0)
    drain_timeout_s: float = Field(default=1800.0, gt=0, le=86400)
    serve_timeout_s: float = Field(default=240.0, gt=0, le=3600)


class BlueGreenAirflowSpec(_CutoverSpec):
    """``blue`` and ``green``: the two colors' local Airflows (home defaults:
    ``{state_dir}/envs/<env>`` and ``{state_dir}/envs/<env>-green``); ``keep_warm_minutes``:
    how long the color cut away from keeps running, so that a rollback is a cut back (0: stopped
    by the next release step); ``drain_timeout_s``: how long a cutover waits for the runs in
    flight of the old color's DAGs to end (the cutover is abandoned, nothing moved, after it);
    ``serve_timeout_s``: how long the new color may take to list the release's DAGs;
    ``state_file``: where the active color and the cutovers are kept (default
    ``{state_dir}/envs/<env>/blue_green.json``)."""

    blue: LocalAirflowSpec
    green: LocalAirflowSpec
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


class MwaaBlueGreenStateSpec(_Spec):
    """Where an MWAA blue/green environment keeps its state: the S3 object
    ``s3://<bucket>/<key>`` (a versioned bucket keeps every state written), reached with blue's
    ``aws`` block."""

    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    key: str = Field(pattern=r"^[^/].*\.json$")


class MwaaBlueGreenAirflowSpec(_CutoverSpec):
    """``blue`` and ``green``: two MWAA environments (``kind: mwaa`` blocks, each its own
    ``environment_name``); ``keep_warm_minutes``: how long the environment cut away from is
    recorded as warm (MWAA environments are never stopped: the standby stays provisioned, and
    billed, until deleted); ``drain_timeout_s``, ``serve_timeout_s``: as for local colors;
    ``update_timeout_s``: how long an environment update may take (MWAA: 20-40 minutes);
    ``update_poll_s``: how often its status is read; ``requirements_key``/``plugins_key``:
    where a release's requirements and ``plugins.zip`` are uploaded in the standby's source
    bucket (versioned); ``state``: the state object (default: blue's source bucket,
    ``release-assets/blue-green/<env>.json``)."""

    blue: MwaaAirflowSpec
    green: MwaaAirflowSpec
    update_timeout_s: float = Field(default=3600.0, gt=0, le=4 * 3600)
    update_poll_s: float = Field(default=30.0, gt=0, le=600)
    requirements_key: str = Field(default="requirements.txt", pattern=r"^[^/].*$")
    plugins_key: str = Field(default="plugins.zip", pattern=r"^[^/].*\.zip$")
    state: MwaaBlueGreenStateSpec | None = None

    @model_validator(mode="after")
    def _two_environments(self) -> Self:
        if self.blue.environment_name == self.green.environment_name:
            raise PydanticCustomError(
                "blue_green",
                "blue and green name the same MWAA environment; each color is its own environment",
            )
        for color in (self.blue, self.green):
            for key in (self.requirements_key, self.plugins_key):
                if key.startswith(f"{color.dags.prefix}/"):
                    raise PydanticCustomError(
                        "blue_green",
                        "requirements_key and plugins_key must be outside the colors' DAGs "
                        "prefix (MWAA would copy them to its workers as DAG files)",
                    )
            state = self.state
            writable = (f"{color.dags.prefix}/", self.requirements_key, self.plugins_key)
            if (
                state is not None
                and state.bucket == color.dags.bucket
                and (state.key.startswith(writable[0]) or state.key in writable[1:])
            ):
                raise PydanticCustomError(
                    "blue_green",
                    "state.key must be outside the colors' DAGs prefix and not the "
                    "requirements or plugins key (the role may write those without the "
                    "conditions that keep the state's writes safe)",
                )
        return self

    def colors(self) -> dict[str, MwaaAirflowSpec]:
        """``{"blue": ..., "green": ...}``."""
        return {"blue": self.blue, "green": self.green}

    def resolve(self, state_dir: Path, env: str) -> Self:
        """The state object filled in (nothing else has a path)."""
        state = self.state or MwaaBlueGreenStateSpec(
            bucket=self.blue.dags.bucket, key=f"release-assets/blue-green/{env}.json"
        )
        return self.model_copy(update={"state": state})


_COLOR_KINDS = ("local", "mwaa")


def _kind_of(value: Any, color: str) -> Any:
    block = value.get(color) if isinstance(value, dict) else getattr(value, color, None)
    return block.get("kind") if isinstance(block, dict) else getattr(block, "kind", None)


def _colors_kind(value: Any) -> str:
    """The tag of a blue/green block: its blue color's kind (``local`` unless ``mwaa``)."""
    return "mwaa" if _kind_of(value, "blue") == "mwaa" else "local"


def _one_kind(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Colors of two kinds are one error at ``green``; errors inside a color are reported at
    the path the file has (without the colors' kind that picked the class)."""
    blue, green = _kind_of(value, "blue"), _kind_of(value, "green")
    if blue in _COLOR_KINDS and green in _COLOR_KINDS and blue != green:
        message = (
            f"green is kind {green!r}, blue is kind {blue!r}: blue and green must be of one "
            "kind (two local Airflows, or two MWAA environments)"
        )
        fault = InitErrorDetails(
            type=PydanticCustomError("blue_green", message), loc=("green", "kind"), input=green
        )
        raise ValidationError.from_exception_data("BlueGreen", [fault])
    try:
        return handler(value)
    except ValidationError as exc:
        faults = [
            InitErrorDetails(
                type=PydanticCustomError(err["type"], err["msg"]),
                loc=err["loc"][1:] if err["loc"][:1] in (("local",), ("mwaa",)) else err["loc"],
                input=err["input"],
            )
            for err in exc.errors()
        ]
        raise ValidationError.from_exception_data(exc.title, faults) from None


BlueGreenSpec = Annotated[
    Annotated[BlueGreenAirflowSpec, Tag("local")]
    | Annotated[MwaaBlueGreenAirflowSpec, Tag("mwaa")],
    Discriminator(_colors_kind),
    WrapValidator(_one_kind),
]
"""A deployment file's ``kind: blue_green`` block: local colors or MWAA colors."""
