"""`release-assets local up | down | status`: every local environment of the deployment
configuration together."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from release_assets.config import load_release_config
from release_assets.local import airflow_instance, color_runtime, environments
from release_assets.local.stack_lock import hold
from release_assets.runtimes import processes
from release_assets.runtimes.airflow.base import AirflowError
from release_assets.runtimes.airflow.local import LocalAirflow
from release_assets.runtimes.airflow.venv import RuntimeVenv, ensure_repo_runtime
from release_assets.runtimes.local_layout import EnvironmentLayout
from release_assets.runtimes.warehouse.duckdb import DuckDBWarehouse
from release_assets.settings import Settings


def layouts(settings: Settings) -> list[EnvironmentLayout]:
    """Every local environment of the deployment configuration, in promotion order."""
    return environments.layouts(settings)


def runtime_for(settings: Settings, repo: Path | None = None) -> RuntimeVenv:
    """The runtime venv for the pipelines repository's Airflow pin and requirements."""
    repo = repo or settings.pipelines_repo
    return ensure_repo_runtime(settings.runtimes_dir, repo, load_release_config(repo))


def up(settings: Settings) -> list[LocalAirflow]:
    """Start every environment (idempotent); environments come up in parallel.

    Holds the state directory's stack lock while it starts them: raises ``StackBusy`` naming
    the holder when another demo or `local up` uses the same state directory."""
    targets = layouts(settings)  # a wrong deployment file fails here, before any build
    log_ports = environments.log_server_ports(settings)
    blue_green = color_runtime.blue_green_specs(environments.deployment_of(settings))
    with hold(settings.state_dir, "release-assets local up"):
        runtime = runtime_for(settings)
        environments.artifacts_dir(settings).mkdir(parents=True, exist_ok=True)

        def one(layout: EnvironmentLayout) -> LocalAirflow:
            layout.ensure_dirs()
            DuckDBWarehouse.at(layout.name, layout.warehouse_path).ensure()
            if layout.name in blue_green:  # its active color (and the other while warm)
                return color_runtime.start_colors(settings, layout.name, runtime)
            return airflow_instance.start(
                layout, runtime, settings.startup_timeout_s, log_ports[layout.name]
            )

        with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
            return list(pool.map(one, targets))


def down(settings: Settings) -> dict[str, list[str]]:
    """Stop every process of every environment (the green color of a blue/green one too,
    as ``<env>-green``); state on disk is kept."""
    stopped = {layout.name: airflow_instance.stop(layout) for layout in layouts(settings)}
    for name, spec in color_runtime.blue_green_specs(environments.deployment_of(settings)).items():
        stopped[f"{name}-green"] = airflow_instance.stop(color_runtime.green_layout(name, spec))
    return stopped


@dataclass(frozen=True)
class EnvironmentStatus:
    name: str
    url: str
    processes: dict[str, int | None]
    health: str
    live_release: str | None
    memory_mb: float
    warehouse: Path


def _row(name: str, layout: EnvironmentLayout, role: str = "") -> EnvironmentStatus:
    """The status of one local Airflow (``role``: a blue/green color's, added to its health)."""
    running = airflow_instance.running(layout)
    pids = {service: (p.pid if p else None) for service, p in running.items()}
    memory = sum(processes.session_rss_bytes(pid) for pid in pids.values() if pid)
    health = "stopped"
    if any(pids.values()):
        try:
            h = LocalAirflow.of_layout(layout, 3.0).health()
            health = "healthy" if h.healthy else f"db={h.metadatabase} sched={h.scheduler}"
        except AirflowError:
            health = "not answering"
    return EnvironmentStatus(
        name=name,
        url=layout.url,
        processes=pids,
        health=f"{health}, {role}" if role else health,
        live_release=layout.live_release(),
        memory_mb=memory / 2**20,
        warehouse=layout.warehouse_path,
    )


def status(settings: Settings) -> list[EnvironmentStatus]:
    """One row per local Airflow: per environment, or per color (``prod/blue``,
    ``prod/green``, health ``..., active`` or ``..., standby``) of a blue/green one."""
    blue_green = color_runtime.blue_green_specs(environments.deployment_of(settings))
    out = []
    for layout in layouts(settings):
        if layout.name not in blue_green:
            out.append(_row(layout.name, layout))
            continue
        target = color_runtime.blue_green_for(settings, layout.name)
        active = target.read_state().active
        for color in ("blue", "green"):
            local = target.color(color)
            assert isinstance(local, LocalAirflow)
            colored = replace(
                color_runtime.color_layout(local), warehouse_file=layout.warehouse_path
            )
            role = "active" if color == active else "standby"
            out.append(_row(f"{layout.name}/{color}", colored, role))
    return out
