"""Benchmark: validation gates on a large generated repository.

Generates 180 DAGs (6 tasks each), 40 dbt models, 25 Spark jobs and 10 Terraform modules
(``benchmarks/scale_repo/``), then prints the time of a full validation, of a one-DAG change
and of a one-model change (both change-aware, against the previous commit, with the DAG parse
cache the full run left, as in CI with the cache kept between runs). One-time machine setup (the
runtime and checkov virtualenvs) is built before timing and reported apart.

Usage: .venv/bin/python benchmarks/validation_scale.py [--dags 180 --models 40 ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_repo import generate_scale_repo

from release_assets.config import load_release_config
from release_assets.runtimes.airflow.venv import (
    ensure_repo_runtime,
    ensure_test_runtime,
)
from release_assets.settings import settings
from release_assets.validation.entry import validate_branch
from release_assets.validation.runner import ValidationReport
from release_assets.validation.scanners.tools import checkov_bin


def _run(repo: Path, base: str | None, cache: Path, scratch: Path) -> ValidationReport:
    s = settings()
    return validate_branch(
        repo,
        base,
        full=base is None,
        scratch=scratch,
        runtimes_dir=s.runtimes_dir,
        cache_dir=cache,
    )


def _line(name: str, report: ValidationReport) -> str:
    gates = ", ".join(
        f"{r.gate} {r.duration_s:.1f}s" for r in report.results if r.status != "skipped"
    )
    verdict = "passed" if report.passed else "FAILED"
    return f"{name:<18} {report.duration_s:7.1f} s  ({verdict}; {gates})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dags", type=int, default=180)
    parser.add_argument("--models", type=int, default=40)
    parser.add_argument("--spark-jobs", type=int, default=25)
    parser.add_argument("--terraform-modules", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ra-scale-") as tmp:
        root = Path(tmp)
        t0 = time.monotonic()
        scale = generate_scale_repo(
            root / "repo",
            dags=args.dags,
            models=args.models,
            spark_jobs=args.spark_jobs,
            terraform_modules=args.terraform_modules,
        )
        print(f"generated the repository in {time.monotonic() - t0:.1f} s")
        t0 = time.monotonic()
        config = load_release_config(scale.root)
        runtime = ensure_repo_runtime(settings().runtimes_dir, scale.root, config)
        tests_reqs = config.tests.requirements
        ensure_test_runtime(runtime, scale.root / tests_reqs if tests_reqs else None)
        checkov_bin(settings().runtimes_dir / "tools")
        print(
            f"one-time setup (runtime, test overlay, checkov venvs): {time.monotonic() - t0:.1f} s"
        )
        cache = root / "cache"
        reports = []
        full = _run(scale.root, None, cache, root / "s-full")
        reports.append(("full validation", full))
        scale.change_one_dag()
        reports.append(("one-DAG change", _run(scale.root, "HEAD~1", cache, root / "s-dag")))
        scale.change_one_model()
        reports.append(("one-model change", _run(scale.root, "HEAD~1", cache, root / "s-model")))
        for name, report in reports:
            print(_line(name, report))
        failed = [(n, r) for n, r in reports if not r.passed]
        for name, report in failed:
            for result in report.results:
                for f in result.errors[:5]:
                    print(f"  {name}: {result.gate}: {f.where} {f.message}")
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
