"""Checking ``release.yaml``'s ``dbt.profile`` and ``dbt.targets`` against the dbt project.

dbt reads the profile named by ``dbt_project.yml`` from ``<profiles_dir>/profiles.yml`` and
runs one of its ``outputs`` (a target). release_assets runs dbt with ``dbt.targets.local`` in
validation and the local environments, and ``dbt.targets.production`` in production; a name that
is not in ``profiles.yml`` only fails once dbt runs, so it is caught when ``release.yaml`` is
loaded. Source of the layout: dbt's documentation of ``profiles.yml`` (a mapping of profile
name -> ``{target: ..., outputs: {name: {...}}}``; a top-level ``config:`` key is not a profile).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PROFILES_FILE = "profiles.yml"
PROJECT_FILE = "dbt_project.yml"
NOT_PROFILES = frozenset({"config"})
"""Top-level keys of ``profiles.yml`` that are not profiles (dbt < 1.8 global config)."""


def _load(path: Path) -> tuple[Any, str | None]:
    """The YAML content of ``path`` or the reason it cannot be read (line and problem only: a
    profile line may hold a credential, so it is never quoted)."""
    try:
        return yaml.safe_load(path.read_text()), None
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror}"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return None, f"is not valid YAML{where}: {getattr(exc, 'problem', None) or 'parse error'}"


def _names(values: object) -> str:
    names = sorted(str(k) for k in values) if isinstance(values, dict) else []
    return ", ".join(names) if names else "none"


def dbt_profile_problems(
    repo: Path, project_dir: str, profiles_dir: str, profile: str, targets: dict[str, str]
) -> list[str]:
    """Problems of ``dbt.profile``/``dbt.targets`` against the repository's dbt files, one
    ``<field path>: <what is wrong and what to do>`` line each; [] when they agree.

    - ``<profiles_dir>/profiles.yml`` must exist and hold the profile ``profile``;
    - every target named in ``targets`` (``{"local": "duckdb", ...}``) must be one of that
      profile's ``outputs``;
    - ``<project_dir>/dbt_project.yml``, when it names a ``profile``, must name the same one
      (dbt runs the project's profile, whatever release.yaml says).

    Folders that do not exist are reported by the path checks, not here.
    """
    problems: list[str] = []
    project_file = repo / project_dir / PROJECT_FILE
    if project_file.is_file() and project_file.resolve().is_relative_to(repo.resolve()):
        project, _ = _load(project_file)
        used = project.get("profile") if isinstance(project, dict) else None
        if isinstance(used, str) and used != profile:
            rel = f"{project_dir.rstrip('/')}/{PROJECT_FILE}"
            problems.append(
                f"dbt.profile: {profile!r}, but {rel} runs profile {used!r}: make the two the same"
            )
    folder = repo / profiles_dir
    if not folder.is_dir() or not folder.resolve().is_relative_to(repo.resolve()):
        return problems
    rel = f"{profiles_dir.rstrip('/')}/{PROFILES_FILE}"
    path = folder / PROFILES_FILE
    if not path.is_file():
        problems.append(
            f"dbt.profiles_dir: there is no {rel} (dbt reads profile {profile!r} from it): "
            "add it, or set dbt.profiles_dir to the folder that holds profiles.yml"
        )
        return problems
    content, unreadable = _load(path)
    if unreadable is not None:
        return [*problems, f"dbt.profiles_dir: {rel} {unreadable}: fix the file"]
    profiles = (
        {k: v for k, v in content.items() if k not in NOT_PROFILES}
        if isinstance(content, dict)
        else {}
    )
    if profile not in profiles:
        problems.append(
            f"dbt.profile: {profile!r} is not a profile in {rel} (profiles there: "
            f"{_names(profiles)}): name one of them, or add {profile!r} to {rel}"
        )
        return problems
    body = profiles[profile]
    outputs = body.get("outputs") if isinstance(body, dict) else None
    for role, target in targets.items():
        if not isinstance(outputs, dict) or target not in outputs:
            problems.append(
                f"dbt.targets.{role}: {target!r} is not a target of profile {profile!r} in "
                f"{rel} (its outputs: {_names(outputs)}): name one of them, or add "
                f"{target!r} under {profile}.outputs"
            )
    local = outputs.get(targets.get("local", "")) if isinstance(outputs, dict) else None
    path_value = local.get("path") if isinstance(local, dict) else None
    if isinstance(path_value, str) and "env_var" not in path_value:
        # Validation builds on a scratch warehouse, each environment on its own: a fixed path
        # would have dbt build into one file (relative: wherever dbt runs) for all of them.
        problems.append(
            f"dbt.targets.local: output {targets['local']!r} of {rel} has a fixed path "
            f"({path_value!r}); validation and each environment need their own warehouse: "
            "read it from an environment variable, e.g. path: \"{{ env_var('DBT_DUCKDB_PATH') "
            '}}", and set dbt.env: {DBT_DUCKDB_PATH: "{warehouse_path}"} in release.yaml'
        )
    return problems
