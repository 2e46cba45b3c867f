"""The local colors of a blue/green environment (``kind: blue_green``): each color is a real
Airflow 2.x (scheduler + webserver) with its own home, port and PostgreSQL metadata database,
started from the runtime venv of the release it serves.

Both colors serve the same environment: their DAGs get the environment's data variables
(warehouse, sources, lake, flags: blue's home, ``EnvironmentLayout.airflow_variables``), and
every color creates new DAGs paused (``DAGS_ARE_PAUSED_AT_CREATION``), so a release activated
in the standby color runs nothing before the cutover unpauses it.
"""

from __future__ import annotations

import os
from pathlib import Path

from release_assets.config.blue_green_specs import BlueGreenAirflowSpec
from release_assets.config.deployment import Deployment
from release_assets.local import airflow_instance, environments
from release_assets.runtimes.airflow.base import AirflowError, AirflowTarget
from release_assets.runtimes.airflow.blue_green import BlueGreenAirflow
from release_assets.runtimes.airflow.blue_green_state import bundle_airflow
from release_assets.runtimes.airflow.color_runtime import ColorRuntime
from release_assets.runtimes.airflow.local import LocalAirflow
from release_assets.runtimes.airflow.venv import RuntimeBuildError, RuntimeVenv, ensure_runtime
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.settings import Settings


def color_env(variables: dict[str, str]) -> dict[str, str]:
    """What a color's processes get on top of ``airflow_env``: new DAGs paused, the
    environment's ``variables`` (``EnvironmentLayout.airflow_variables``: its data, and
    ``schedule_compression`` when its schedules run) and, as the environment, its schedules on
    or off (a color's own layout knows neither)."""
    return {
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str("schedule_compression" in variables),
        **{f"AIRFLOW_VAR_{k.upper()}": v for k, v in variables.items()},
    }


def color_layout(target: LocalAirflow) -> EnvironmentLayout:
    """Where the color ``target`` keeps its Airflow (home, port, run folder)."""
    return EnvironmentLayout(
        target.environment, Path(target.home), target.port, Path(target.warehouse_path)
    )


def running_runtime(layout: EnvironmentLayout) -> Path | None:
    """The runtime venv the color's scheduler runs from (None when it is not running)."""
    scheduler = airflow_instance.running(layout).get("scheduler")
    if scheduler is None or not scheduler.command:
        return None
    return Path(scheduler.command[0]).parent.parent


def share_credentials(source: Path, layout: EnvironmentLayout) -> None:
    """Give the color at ``layout`` the environment's admin credentials (``source``: blue's
    ``credentials.json``), once, mode 0600: one login for the environment whichever color
    serves it."""
    target = layout.credentials_file
    if target.exists() or not source.is_file():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(source.read_bytes())
    tmp.replace(target)


class LocalColorRuntime(ColorRuntime):
    """Starts a local color from a release's runtime venv. Fields: ``runtimes_dir`` (where
    runtime venvs are built, ``<runtimes>/<key>``), ``variables`` (the environment's data
    variables), ``log_server_ports`` (color -> its log server port), ``startup_timeout_s``
    (how long a color may take to answer healthy), ``credentials_file`` (the environment's
    admin credentials, which a color gets a copy of before its first start)."""

    runtimes_dir: str
    variables: dict[str, str]
    log_server_ports: dict[str, int]
    startup_timeout_s: float = 240.0
    credentials_file: str | None = None

    def _local(self, color: str, target: AirflowTarget) -> LocalAirflow:
        if not isinstance(target, LocalAirflow):
            raise AirflowError(
                f"{target.environment}: the {color} color is not a local Airflow "
                f"({type(target).__name__}); the local stack starts only local colors"
            )
        return target

    def ensure(self, color: str, target: AirflowTarget, bundle_dir: Path, identity: str) -> None:
        """Build (or reuse) the runtime venv of the bundle (its ``release.yaml`` Airflow
        version, requirements and constraints) and run the color from it: kept when it already
        runs from it, restarted when it runs another one. Raises ``AirflowError`` naming the
        color when the runtime cannot be built or the color does not come up."""
        local = self._local(color, target)
        layout = color_layout(local)
        airflow = bundle_airflow(bundle_dir)
        constraints = airflow.constraints
        if constraints and not (bundle_dir / constraints).is_file():
            raise AirflowError(
                f"{local.environment}: cannot build the {color} color's runtime {identity}: the "
                f"release bundle has no {constraints} (release.yaml airflow.constraints), so "
                "its Airflow would be installed unconstrained"
            )
        try:
            runtime = ensure_runtime(
                Path(self.runtimes_dir),
                airflow.version,
                bundle_dir / airflow.requirements,
                constraints=bundle_dir / constraints if constraints else None,
            )
        except (RuntimeBuildError, OSError) as exc:
            raise AirflowError(
                f"{local.environment}: cannot build the {color} color's runtime {identity}: {exc}"
            ) from exc
        running = airflow_instance.running(layout)
        if all(running.values()) and running_runtime(layout) == runtime.root:
            return
        airflow_instance.stop(layout)
        if self.credentials_file:
            share_credentials(Path(self.credentials_file), layout)
        try:
            airflow_instance.start(
                layout,
                runtime,
                self.startup_timeout_s,
                self.log_server_ports.get(color),
                color_env(self.variables),
            )
        except airflow_instance.AirflowStartError as exc:
            raise AirflowError(
                f"{local.environment}: the {color} color did not start: {exc}"
            ) from None

    def running(self, color: str, target: AirflowTarget) -> bool:
        layout = color_layout(self._local(color, target))
        return any(airflow_instance.running(layout).values())

    def stop(self, color: str, target: AirflowTarget) -> bool:
        return bool(airflow_instance.stop(color_layout(self._local(color, target))))


def blue_green_airflow(
    environment: str,
    spec: BlueGreenAirflowSpec,
    data: EnvironmentLayout,
    runtimes_dir: Path,
    startup_timeout_s: float = 240.0,
) -> BlueGreenAirflow:
    """The target of a resolved ``kind: blue_green`` block of ``environment``, whose data
    lives in ``data`` (the environment's layout: blue's home)."""
    colors = {
        name: LocalAirflow(
            environment=environment,
            home=str(color.home),
            port=color.port,
            warehouse_path=str(data.warehouse_path),
        )
        for name, color in spec.colors().items()
    }
    return BlueGreenAirflow(
        environment=environment,
        blue=colors["blue"],
        green=colors["green"],
        runtime=LocalColorRuntime(
            runtimes_dir=str(runtimes_dir),
            variables=data.airflow_variables(),
            log_server_ports={n: c.effective_log_server_port for n, c in spec.colors().items()},
            startup_timeout_s=startup_timeout_s,
            credentials_file=str(data.credentials_file),
        ),
        state_file=str(spec.state_file),
        keep_warm_minutes=spec.keep_warm_minutes,
        serve_timeout_s=spec.serve_timeout_s,
        drain_timeout_s=spec.drain_timeout_s,
    )


def blue_green_specs(deployment: Deployment) -> dict[str, BlueGreenAirflowSpec]:
    """Environment name -> its ``kind: blue_green`` block, for every such environment."""
    return {
        env.name: env.airflow
        for env in deployment.environments
        if isinstance(env.airflow, BlueGreenAirflowSpec)
    }


def green_layout(name: str, spec: BlueGreenAirflowSpec) -> EnvironmentLayout:
    """Where the green color of environment ``name`` keeps its Airflow."""
    return EnvironmentLayout(name, Path(str(spec.green.home)), spec.green.port)


def blue_green_for(settings: Settings, name: str) -> BlueGreenAirflow:
    """The blue/green target of environment ``name`` of the deployment ``settings`` names
    (its runtimes built under ``settings.runtimes_dir``). Raises ``UnknownEnvironment`` or
    ``ValueError`` when ``name`` has no ``kind: blue_green`` Airflow."""
    spec = blue_green_specs(environments.deployment_of(settings)).get(name)
    if spec is None:
        raise ValueError(f"environment {name!r} has no blue/green Airflow (kind: blue_green)")
    data = environments.layout(settings, name)
    return blue_green_airflow(name, spec, data, settings.runtimes_dir, settings.startup_timeout_s)


def start_colors(settings: Settings, name: str, checkout_runtime: RuntimeVenv) -> LocalAirflow:
    """`release-assets local up` for the blue/green environment ``name``: start every color
    that should run (the active one; the other while it is kept warm) from the runtime it ran
    last (``<runtimes>/<identity>``); blue from ``checkout_runtime`` when that is not on disk
    (a new environment: nothing recorded). Returns the active color's target. Raises
    ``AirflowStartError`` naming the color when its runtime is gone (redeploy its release:
    that rebuilds it)."""
    target = blue_green_for(settings, name)
    state = target.read_state()
    for color, cs in state.colors.items():
        if color != state.active and (cs.warm_until is None or cs.stopped):
            continue
        runtime = RuntimeVenv(settings.runtimes_dir / cs.runtime) if cs.runtime else None
        if runtime is None or not runtime.is_complete():
            if color != "blue":  # blue falls back to the checkout's runtime, as before
                raise airflow_instance.AirflowStartError(
                    f"{name}: the {color} color's runtime {cs.runtime} is not in "
                    f"{settings.runtimes_dir}; redeploy the release it serves "
                    "(`release-assets redeploy`), which builds it again"
                )
            runtime = checkout_runtime
        local = target.color(color)
        assert isinstance(local, LocalAirflow) and isinstance(target.runtime, LocalColorRuntime)
        share_credentials(environments.layout(settings, name).credentials_file, color_layout(local))
        airflow_instance.start(
            color_layout(local),
            runtime,
            settings.startup_timeout_s,
            target.runtime.log_server_ports.get(color),
            color_env(target.runtime.variables),
        )
    active = target.color(state.active)
    assert isinstance(active, LocalAirflow)
    return active


def environment_target(settings: Settings, name: str) -> AirflowTarget:
    """The Airflow target of the local environment ``name`` as the release steps see it: its
    blue/green target for a ``kind: blue_green`` one (the active color serves), else its
    ``LocalAirflow``. Raises ``UnknownEnvironment`` naming the local environments."""
    environments.layout(settings, name)  # UnknownEnvironment for a name that is not local
    if name in blue_green_specs(environments.deployment_of(settings)):
        return blue_green_for(settings, name)
    return environments.local_airflow(settings, name)
