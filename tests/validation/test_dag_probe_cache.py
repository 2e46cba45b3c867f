"""The release candidate's DAG probe and the validation gates share per-file parses: with the
same cache folder each DAG file of a release is imported once, whichever copy of the tree
each of them reads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from release_assets.config import load_release_config
from release_assets.core.bundle import import_bundle_dags
from release_assets.core.changes import classify
from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.validation.runner import run_gate
from release_assets.validation.selection import build_selection
from tests.validation.conftest import MakeContext

pytestmark = pytest.mark.slow

BROKEN = "from airflow import DAG\nimport not_a_module_anywhere\n"


def test_the_release_probe_and_the_gates_import_each_dag_file_once(
    northstar_copy: Path, make_context: MakeContext, runtime: RuntimeVenv, tmp_path: Path
) -> None:
    (northstar_copy / "dags" / "broken.py").write_text(BROKEN)
    export = tmp_path / "release-export"  # release_candidate's own export of the same commit
    shutil.copytree(northstar_copy, export)
    cache = tmp_path / "validation-cache"

    release = import_bundle_dags(runtime, export, load_release_config(export), cache_dir=cache)

    assert len(release.imported) == 7 and len(release.dags) == 6
    (error,) = release.errors.values()
    assert "not_a_module_anywhere" in error and str(export) in error

    changed = ["dags/ingest_orders.py"]
    ctx = make_context(northstar_copy, changed_files=changed, dbt_modified=[])
    ctx.cache_dir = cache
    index = ctx.dag_index()

    assert index.imported == []  # every file came from the release's probe
    assert sorted(index.files) == sorted(f"dags/{p}" for p in release.files)
    broken = index.files["dags/broken.py"].error or ""
    assert 'File "dags/broken.py"' in broken and str(export) not in broken
    assert ctx.dag_summaries()["ingest_orders"].fileloc == str(
        northstar_copy / "dags" / "ingest_orders.py"
    )
    # Same classifier, same inputs: the same DAGs validated and run.
    selection = build_selection(northstar_copy, ctx.config, changed, [], dags=ctx.dag_summaries)
    change = classify(changed, ctx.config, release.dags, [], "v1", tree=export)
    assert selection.dag_ids == change.dag_ids == ["ingest_orders"]
    assert selection.affected_dag_ids == change.affected_dag_ids
    ctx.selection = selection
    result = run_gate("dag_integrity", ctx)
    assert result.passed and result.checked == ["dags/ingest_orders.py"]
    assert "0 DAG file(s) imported now; 7 unchanged file(s) from the parse cache" in result.notes
