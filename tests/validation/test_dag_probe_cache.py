"""The release candidate's DAG probe and the validation gates share per-file parses: with the
same cache folder each DAG file of a release is imported once, whichever copy of the tree
each of them reads. A cached parse depends on its key's inputs only: an error that depends on
the other DAG files (a dag_id another file defined first) is never cached."""

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


def test_a_duplicated_dag_id_is_never_a_stale_cached_error(
    northstar_copy: Path, make_context: MakeContext, tmp_path: Path
) -> None:
    cache = tmp_path / "own-cache"
    dags = northstar_copy / "dags"
    copy = dags / "ingest_orders_copy.py"
    original = (dags / "ingest_orders.py").read_text()
    copy.write_text(original)

    # Both imported in one probe: Airflow's own error on the second file.
    both = run_gate("dag_integrity", make_context(northstar_copy, cache_dir=cache))
    (dup,) = [f for f in both.findings if f.obj == "file:dags/ingest_orders_copy.py"]
    assert "DuplicatedId" in dup.message and "dags/ingest_orders.py" in dup.message

    # The original removed: the copy is the one definition left, and it is imported anew
    # (its duplicate error was not cached), so no stale duplicate is reported.
    (dags / "ingest_orders.py").unlink()
    alone_ctx = make_context(northstar_copy, cache_dir=cache)
    alone = run_gate("dag_integrity", alone_ctx)
    assert alone.passed, [f.message for f in alone.findings]
    assert alone_ctx.dag_index().imported == ["dags/ingest_orders_copy.py"]

    # The original back: both parses come from the cache, without Airflow's error; the gate's
    # own check still names the dag_id and both files.
    (dags / "ingest_orders.py").write_text(original)
    again_ctx = make_context(northstar_copy, cache_dir=cache)
    again = run_gate("dag_integrity", again_ctx)
    assert again_ctx.dag_index().imported == []
    (named,) = [f for f in again.findings if f.obj == "dag:ingest_orders"]
    assert "dags/ingest_orders.py, dags/ingest_orders_copy.py" in named.message
    assert not again.passed
