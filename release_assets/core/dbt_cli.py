"""dbt commands on a release's dbt project (parse, state comparison), as bounded subprocesses.

dbt writes its target and logs into a scratch folder, never into the project, so a project in
an immutable bundle can be used as is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from release_assets.settings import inherited_environment

_VOLATILE_KEYS = {
    "created_at",
    "generated_at",
    "invocation_id",
    "invocation_started_at",
    "run_started_at",
}


class DbtError(RuntimeError):
    """A dbt command failed; the message carries dbt's own error lines."""


def _dbt() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def run_dbt(
    args: list[str],
    project_dir: Path,
    profiles_dir: Path,
    target: str,
    env: dict[str, str],
    scratch: Path,
    timeout_s: float = 600,
) -> str:
    scratch.mkdir(parents=True, exist_ok=True)
    cmd = [
        _dbt(),
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(profiles_dir),
        "--target",
        target,
        "--target-path",
        str(scratch / "target"),
        "--log-path",
        str(scratch / "logs"),
    ]
    full_env = {
        **inherited_environment(),
        **env,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PARTIAL_PARSE": "false",
        "DBT_USE_COLORS": "false",
    }
    try:
        done = subprocess.run(
            cmd, env=full_env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise DbtError(f"dbt {args[0]} on {project_dir} timed out after {timeout_s:.0f}s") from None
    if done.returncode != 0:
        lines = [ln for ln in done.stdout.splitlines() if "error" in ln.lower()] or [
            done.stdout[-2000:]
        ]
        raise DbtError(f"dbt {args[0]} on {project_dir} failed:\n" + "\n".join(lines[-20:]))
    return done.stdout


def _scrub(value: Any, root: str) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, root) for k, v in value.items() if k not in _VOLATILE_KEYS}
    if isinstance(value, list):
        return [_scrub(v, root) for v in value]
    if isinstance(value, str) and root in value:
        return value.replace(root, "<bundle>")
    return value


def normalized_manifest(manifest_path: Path, bundle_root: Path) -> str:
    """The manifest without timestamps, invocation ids or absolute paths: the same project
    always yields the same bytes, so the bundle digest is reproducible."""
    data = json.loads(manifest_path.read_text())
    return json.dumps(_scrub(data, str(bundle_root)), sort_keys=True, indent=1)


def modified_models(
    project_dir: Path,
    profiles_dir: Path,
    target: str,
    env: dict[str, str],
    state_manifest: str,
    scratch: Path,
) -> list[str]:
    """Models changed against ``state_manifest`` and everything downstream of them."""
    state_dir = scratch / "state"
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "manifest.json").write_text(
        state_manifest.replace("<bundle>", str(project_dir.parent))
    )
    out = run_dbt(
        [
            "ls",
            "--resource-type",
            "model",
            "--select",
            "state:modified+",
            "--state",
            str(state_dir),
            "--output",
            "name",
            "--quiet",
        ],
        project_dir,
        profiles_dir,
        target,
        env,
        scratch,
    )
    return sorted({line.strip() for line in out.splitlines() if line.strip()})
