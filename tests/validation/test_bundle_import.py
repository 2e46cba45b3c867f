"""What is validated is what is deployed: DAGs are imported from the assembled release bundle,
in a directory holding nothing else, so a DAG that needs a module or file the bundle does not
ship fails validation naming the file, the missing module or file and what the bundle ships.
The release candidate's probe imports from the bundle too and shares the parse cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from release_assets.config import load_release_config
from release_assets.core.bundle import import_bundle_dags
from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.validation.runner import run_gate
from tests.validation.conftest import MakeContext

pytestmark = pytest.mark.slow

_TAIL = (
    "from airflow import DAG\n"
    "from airflow.operators.empty import EmptyOperator\n"
    "from northstar_common.defaults import START_DATE, default_args\n\n"
    'with DAG(dag_id="{name}", start_date=START_DATE, schedule=None, catchup=False,\n'
    '         default_args=default_args("data-platform@northstar.example")):\n'
    '    EmptyOperator(task_id="noop")\n'
)
# The example: a top-level lib/ folder appended to sys.path.
USES_LIB = (
    "import sys\nfrom pathlib import Path\n\n"
    'sys.path.append(str(Path(__file__).resolve().parents[1] / "lib"))\n\n'
    "from helpers import table_name  # noqa: E402\n"  # line 6
) + _TAIL.format(name="uses_lib")
# Siblings: a module of the repository root, a file outside the bundle read at parse time.
ROOT_MODULE = (
    "import sys\nfrom pathlib import Path\n\n"
    "sys.path.insert(0, str(Path(__file__).resolve().parents[1]))\n\n"
    "from tools.generate_sources import main  # noqa: E402\n"  # line 6
) + _TAIL.format(name="root_module")
READS_CONFIG = (
    "from pathlib import Path\n\n"
    'CONFIG = (Path(__file__).resolve().parents[1] / "config" / "x.yaml").read_text()\n'
) + _TAIL.format(name="reads_config")


def _break(repo: Path) -> None:
    (repo / "lib").mkdir()
    (repo / "lib" / "helpers.py").write_text("def table_name() -> str:\n    return 'orders'\n")
    (repo / "config").mkdir()
    (repo / "config" / "x.yaml").write_text("limit: 10\n")
    (repo / "dags" / "uses_lib.py").write_text(USES_LIB)
    (repo / "dags" / "root_module.py").write_text(ROOT_MODULE)
    (repo / "dags" / "reads_config.py").write_text(READS_CONFIG)


def test_what_the_bundle_lacks_fails_in_pr_and_full_mode_and_the_release_agrees(
    northstar_copy: Path, make_context: MakeContext, runtime: RuntimeVenv, tmp_path: Path
) -> None:
    _break(northstar_copy)
    cache = tmp_path / "shared-cache"
    export = tmp_path / "release-export"  # release_candidate's own export of the same commit
    shutil.copytree(northstar_copy, export)

    release = import_bundle_dags(runtime, export, load_release_config(export), cache_dir=cache)
    full_ctx = make_context(northstar_copy)
    full_ctx.cache_dir = cache
    full = run_gate("dag_integrity", full_ctx)
    pr_ctx = make_context(northstar_copy, changed_files=["dags/uses_lib.py"], dbt_modified=[])
    pr_ctx.cache_dir = cache
    pr = run_gate("dag_integrity", pr_ctx)

    # The release's probe saw the same failures, reported under its own tree.
    assert sorted(release.errors) == sorted(
        str(export / "dags" / f) for f in ("reads_config.py", "root_module.py", "uses_lib.py")
    )
    assert "uses_lib" not in release.dags and "ingest_orders" in release.dags
    assert release.dags["ingest_orders"].fileloc == str(export / "dags" / "ingest_orders.py")
    assert full_ctx.dag_index().imported == []  # every parse came from the release's probe
    by_file = {f.file: f for f in full.findings}
    lib = by_file["dags/uses_lib.py"]
    assert lib.line == 6 and lib.obj == "file:dags/uses_lib.py"
    assert "does not import from the release bundle: No module named 'helpers'" in lib.message
    assert "lib/helpers.py is not part of it" in lib.message
    assert "the bundle ships constraints.txt, contracts/, dags/, dbt/, release.yaml," in lib.message
    assert "move lib/helpers.py into dags/" in (lib.fix or "")
    root = by_file["dags/root_module.py"]
    assert root.line == 6 and "tools/ is not part of it" in root.message
    config = by_file["dags/reads_config.py"]
    assert config.line == 3 and "reads config/x.yaml at parse time" in config.message
    assert "config/x.yaml is not part of it" in config.message
    assert set(by_file) == {"dags/uses_lib.py", "dags/root_module.py", "dags/reads_config.py"}
    assert [(f.file, f.line) for f in pr.findings] == [("dags/uses_lib.py", 6)]
    assert pr.findings[0].message == lib.message
