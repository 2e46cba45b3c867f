"""Run the validation gates (in parallel) and collect their results.

The same code runs inside Dagster (the blocking asset checks on ``release_candidate``) and
outside it (``release-assets validate`` on a pull request).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from release_assets.runtimes.airflow.venv import RuntimeBuildError
from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding, GateResult
from release_assets.validation.selection import Selection

GateFn = Callable[[ValidationContext], GateResult]

# Gate name -> what it checks (the order of reports and of the asset checks).
GATES: dict[str, str] = {
    "dag_integrity": "DAGs import in the target runtime; owner, retries, catchup, schedule, "
    "parse time; unique dag_ids; no cycles",
    "references": "cross-DAG references and dbt tables named by DAGs and jobs resolve",
    "requirements": "requirements.txt resolves against the target Airflow version",
    "python_quality": "ruff, and the repository's own pytest suite (Spark jobs in local Spark)",
    "sql_lint": "sqlfluff over the dbt models",
    "dbt": "dbt parses; the selected models build on a scratch warehouse with their data and "
    "unit tests; no breaking change to a contracted model without a version bump",
    "contracts": "contracts are valid and match the staging sources; consumers of changes",
    "terraform": "HCL parses and is formatted; checkov security policies",
    "secrets": "no credentials in the change; bandit on DAG and job code",
}


def gate_function(name: str) -> GateFn:
    module = importlib.import_module(f"release_assets.validation.gates.{name}")
    return module.run  # type: ignore[no-any-return]


def run_gate(name: str, ctx: ValidationContext) -> GateResult:
    """One gate, timed; a gate that crashes fails closed with the reason as its finding."""
    started = time.monotonic()
    try:
        result = gate_function(name)(ctx)
    except RuntimeBuildError as exc:
        # The repository's requirements do not install: its fault, not the tool's (exit 1).
        requirements = ctx.config.airflow.requirements
        last = str(exc).strip().splitlines()[-1] if str(exc).strip() else "install failed"
        result = GateResult(
            gate=name,
            findings=[
                Finding(
                    message=f"the Airflow runtime cannot be built from {requirements}, so "
                    f"the {name} gate cannot check anything: {last}",
                    file=requirements,
                    obj=f"file:{requirements}",
                    fix="fix the conflict the requirements gate names, then validate again",
                )
            ],
        )
    except Exception as exc:  # reported as the gate's failure
        result = GateResult(
            gate=name,
            crashed=f"{type(exc).__name__}: {exc}",
            findings=[
                Finding(
                    message=f"the {name} gate could not run: {type(exc).__name__}: {exc}",
                    fix="fix the cause above; a gate that cannot run blocks the release",
                )
            ],
        )
    result.duration_s = time.monotonic() - started
    return result


@dataclass
class ValidationReport:
    selection: Selection
    results: list[GateResult]
    duration_s: float

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def result(self, gate: str) -> GateResult:
        for r in self.results:
            if r.gate == gate:
                return r
        raise KeyError(gate)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "duration_s": round(self.duration_s, 2),
            "full": self.selection.full,
            "selection": self.selection.to_dict(),
            "gates": [r.to_dict() for r in self.results],
        }


def run_gates(
    ctx: ValidationContext, gates: Iterable[str] | None = None, workers: int = 2
) -> ValidationReport:
    """Run ``gates`` (default: all) with ``workers`` in parallel; results in ``GATES`` order."""
    names = [g for g in GATES if gates is None or g in set(gates)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="gate") as pool:
        futures = {name: pool.submit(run_gate, name, ctx) for name in names}
        results = [futures[name].result() for name in names]
    return ValidationReport(ctx.selection, results, time.monotonic() - started)
