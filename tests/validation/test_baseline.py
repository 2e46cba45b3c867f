"""Findings already at the base of a change are reported as existing and do not block; what
the change introduces or makes worse blocks (issue 10, kind 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.validation.baseline import fingerprint, mark_existing, normalise
from release_assets.validation.entry import validate_branch
from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.report import to_json, to_markdown
from tests.paths import SHARED_RUNTIMES
from tests.pipelines_git import PipelinesGit, make_pipelines_git

AL03 = "AL03 (aliasing.expression): Column expression without alias. Use explicit `AS` clause."
SQL = "dbt/models/staging/stg_customers.sql"


def _al03(line: int) -> Finding:
    return Finding(AL03, file=SQL, line=line, obj="model:stg_customers", rule="AL03")


def test_a_finding_moved_by_other_lines_is_existing_and_does_not_block() -> None:
    base = GateResult("sql_lint", findings=[_al03(8)])
    candidate = GateResult("sql_lint", findings=[_al03(9)])
    marked = mark_existing(candidate, base, Path("/c"), Path("/b"))
    assert marked.passed and marked.errors == []
    assert [f.line for f in marked.existing_findings] == [9]


def test_one_more_copy_than_the_base_had_blocks() -> None:
    base = GateResult("sql_lint", findings=[_al03(8)])
    candidate = GateResult("sql_lint", findings=[_al03(8), _al03(12)])
    marked = mark_existing(candidate, base, Path("/c"), Path("/b"))
    assert not marked.passed
    assert len(marked.errors) == 1 and len(marked.existing_findings) == 1
    # New findings come first.
    assert not marked.findings[0].existing and marked.findings[1].existing


def test_fingerprints_ignore_positions_counts_durations_and_the_tree_folder() -> None:
    assert normalise("dags/a.py:12 reads marts.x", ()) == normalise("dags/a.py:40 reads marts.x")
    assert normalise("line 3, column 7: 2 errors in 1.5 s") == normalise(
        "line 9, column 1: 5 errors in 0.2 s"
    )
    at_base = Finding("cannot import /tmp/b/dags/x.py: boom", file="dags/x.py")
    at_candidate = Finding("cannot import /work/c/dags/x.py: boom", file="dags/x.py")
    assert fingerprint("g", at_base, ("/tmp/b",)) == fingerprint("g", at_candidate, ("/work/c",))
    # A different pin is a different finding.
    pin_a = Finding("protobuf==6.31.1 conflicts", obj="package:protobuf")
    pin_b = Finding("protobuf==6.32.0 conflicts", obj="package:protobuf")
    assert fingerprint("requirements", pin_a) != fingerprint("requirements", pin_b)
    # Another rule, file or severity is another finding.
    assert fingerprint("g", _al03(1)) != fingerprint("g", Finding(AL03, file="x.sql", rule="AL03"))


# -- through `validate --base` on a real git repository (slow: dbt, sqlfluff, the DAG probe) ----
ORPHAN = '''"""Scheduled on a Dataset nothing produces: a references finding already at the base."""

from datetime import datetime

from airflow import DAG
from airflow.datasets import Dataset
from airflow.operators.empty import EmptyOperator

with DAG(
    dag_id="{dag_id}",
    start_date=datetime(2024, 1, 1),
    schedule=[Dataset("duckdb://warehouse/raw.{table}")],
    catchup=False,
    default_args={{"owner": "data-platform", "retries": 1}},
):
    EmptyOperator(task_id="noop")
'''


def _edit(repo: PipelinesGit, rel: str, old: str, new: str) -> None:
    path = repo.path / rel
    text = path.read_text()
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1))


def _validate(
    repo: PipelinesGit, tmp: Path, cache: Path, name: str, gate: str, full: bool = False
) -> GateResult:
    report = validate_branch(
        repo.path,
        "main",
        full=full,
        scratch=tmp / name,
        runtimes_dir=SHARED_RUNTIMES,
        cache_dir=cache,
        gates=[gate],
    )
    markdown, data = to_markdown(report), to_json(report)
    result = report.result(gate)
    if result.existing_findings:
        assert "already at the base (not blocking)" in markdown
        assert '"existing_findings"' in data
    return result


@pytest.mark.slow
def test_pr_mode_blocks_on_what_the_change_adds_not_on_what_was_there(
    tmp_path: Path, shared_cache: Path
) -> None:
    repo = make_pipelines_git(tmp_path / "pipelines")
    cache = shared_cache / "validation"
    # At the base: a sqlfluff error in the model, a Dataset consumer with no producer elsewhere.
    _edit(
        repo,
        SQL,
        "    marketing_opt_in,\n",
        "    marketing_opt_in,\n    coalesce(signup_date, updated_at),\n",
    )
    (repo.path / "dags" / "orphan_consumer.py").write_text(
        ORPHAN.format(dag_id="orphan_consumer", table="nowhere")
    )
    repo.commit("findings already on main")
    repo.git("checkout", "-q", "-b", "feature")

    # A harmless column alias in the same model (the existing finding moves down one line).
    _edit(repo, SQL, "    first_name,\n", "    first_name,\n    email_masked as contact_email,\n")
    harmless = _validate(repo, tmp_path, cache, "alias", "sql_lint")
    assert harmless.passed and harmless.errors == []
    assert [(f.rule, f.line, f.existing) for f in harmless.findings] == [("AL03", 9, True)]
    # The same tree validated in full: nothing is "existing", everything blocks.
    full = _validate(repo, tmp_path, cache, "alias-full", "sql_lint", full=True)
    assert not full.passed and [f.line for f in full.errors] == [9]

    # A new violation in the same file fails, naming only the new one.
    _edit(repo, SQL, "    signup_date,\n", "    signup_date,\n    lower(first_name),\n")
    worse = _validate(repo, tmp_path, cache, "worse", "sql_lint")
    assert not worse.passed
    assert [(f.rule, f.line) for f in worse.errors] == [("AL03", 11)]
    assert [f.line for f in worse.existing_findings] == [9]
    repo.git("checkout", "-q", "--", SQL)

    # Sibling: a harmless DAG change while another DAG's reference was already broken.
    _edit(
        repo,
        "dags/ingest_orders.py",
        '"""',
        '"""Orders: ',
    )
    dag_change = _validate(repo, tmp_path, cache, "dag", "references")
    assert dag_change.passed, [f.message for f in dag_change.errors]
    assert dag_change.existing_findings
    assert all("orphan_consumer" in f.message for f in dag_change.existing_findings)
    # ...and a new broken reference of the change blocks, naming the new DAG only.
    (repo.path / "dags" / "second_orphan.py").write_text(
        ORPHAN.format(dag_id="second_orphan", table="elsewhere")
    )
    broken = _validate(repo, tmp_path, cache, "dag-broken", "references")
    assert not broken.passed
    assert broken.errors and all("second_orphan" in f.message for f in broken.errors)
    assert not any("dag:orphan_consumer" in f.message for f in broken.errors)
    assert any("orphan_consumer" in f.message for f in broken.existing_findings)
