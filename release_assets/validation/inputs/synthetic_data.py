"""The repository's synthetic data for the dbt gate: ``dbt.synthetic_data.command`` of
``release.yaml`` run once on the gate's scratch warehouse, so that the data tests run on rows.

The command runs from the repository root with the placeholders of ``dbt.env`` filled in
(``{warehouse_path}``: the scratch warehouse, ``{lake_root}``, ``{source_root}``,
``{scratch_root}``: scratch folders), dbt's environment, the test runtime's ``bin`` (the
Airflow runtime plus ``tests.requirements``) first on ``PATH`` and the DAGs folder on
``PYTHONPATH``, as a task would import its modules.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from release_assets.settings import inherited_environment
from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding
from release_assets.validation.inputs.dbt_runs import mask

RULE = "dbt-synthetic-data"


def fill_sources(
    ctx: ValidationContext, values: dict[str, str], env: dict[str, str]
) -> Finding | None:
    """Run the configured command; None when it succeeded (or none is configured), else a
    finding naming the command, its exit status and the end of its output."""
    assert ctx.config.dbt is not None
    synthetic = ctx.config.dbt.synthetic_data
    if synthetic is None:
        return None
    for key in ("source_root", "lake_root", "scratch_root"):
        Path(values[key]).mkdir(parents=True, exist_ok=True)
    command = synthetic.render(values)
    shown = " ".join(synthetic.command)
    runtime = ctx.test_runtime()
    base = inherited_environment(("VIRTUAL_ENV", "PYTHONPATH"))
    full_env = {
        **base,
        **env,
        "PATH": f"{runtime.bin_dir}{os.pathsep}{base.get('PATH', '/usr/bin:/bin')}",
        "PYTHONPATH": str(ctx.repo / ctx.config.airflow.dags_folder),
        "VIRTUAL_ENV": str(runtime.root),
    }
    fix = (
        "make the command fill the sources of {warehouse_path} (reproduce it from the "
        "repository root), or remove dbt.synthetic_data to build on empty sources only"
    )
    try:
        done = subprocess.run(
            command,
            cwd=ctx.repo,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=synthetic.timeout_seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        message = f"the synthetic data command `{shown}` ran longer than "
        message += f"{synthetic.timeout_seconds:.0f}s"
        return Finding(message, "release.yaml", obj=None, fix=fix, rule=RULE)
    except OSError as exc:
        message = f"the synthetic data command `{shown}` cannot start: {exc}"
        return Finding(message, "release.yaml", obj=None, fix=fix, rule=RULE)
    if done.returncode == 0:
        return None
    tail = mask((done.stderr.strip() or done.stdout.strip())[-1500:], env)
    return Finding(
        message=f"the synthetic data command `{shown}` failed (exit {done.returncode}): {tail}",
        file="release.yaml",
        fix=fix,
        rule=RULE,
    )
