"""Running DAGs of a release in an environment, in dependency order, and reporting on them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from release_assets.runtimes.airflow.dag_probe import DagSummary
from release_assets.runtimes.airflow.types import DagRunResult

if TYPE_CHECKING:
    from release_assets.runtimes.airflow.base import AirflowTarget

RUN_TIMEOUT_S = 900.0
_DBT_SUMMARY = re.compile(r"Done\. PASS=(\d+) WARN=(\d+) ERROR=(\d+) SKIP=(\d+)")


def dag_summaries(graph: dict[str, dict[str, list[str]]]) -> dict[str, DagSummary]:
    return {
        dag_id: DagSummary(dag_id, "", edges["consumes"], edges["produces"])
        for dag_id, edges in graph.items()
    }


def run_in_waves(
    target: AirflowTarget,
    waves: list[list[str]],
    run_id: str,
    conf: dict[str, object],
    dag_id_of: dict[str, str] | None = None,
) -> list[DagRunResult]:
    """Trigger the DAGs of each wave together, wait for all of them (each bounded by
    ``RUN_TIMEOUT_S`` seconds), and start the next wave only when every run of this one
    succeeded. ``dag_id_of`` maps a DAG id to the id actually run (a canary copy). Runs are
    keyed by ``run_id``, so a re-run reuses them. Returns the results in wave order, up to and
    including the wave with a failure."""
    results: list[DagRunResult] = []
    for wave in waves:
        actual = [(dag_id_of or {}).get(dag_id, dag_id) for dag_id in wave]
        for dag_id in actual:
            target.trigger(dag_id, run_id, conf)
        done = [target.wait_for_run(dag_id, run_id, RUN_TIMEOUT_S) for dag_id in actual]
        results.extend(done)
        if not all(r.succeeded for r in done):
            break
    return results


def results_table(results: list[DagRunResult], url: str) -> str:
    rows = "\n".join(
        f"| [{r.dag_id}]({url}/dags/{r.dag_id}/grid?dag_run_id={r.run_id}) | `{r.run_id}` | "
        f"{r.state} | {', '.join(r.failed_tasks) or '-'} |"
        for r in results
    )
    return "| DAG | run | state | failed tasks |\n|---|---|---|---|\n" + rows


def dbt_summary(target: AirflowTarget, results: list[DagRunResult]) -> dict[str, int]:
    """dbt's own PASS/WARN/ERROR/SKIP counts, read from the task logs of the runs."""
    for result in results:
        for log in target.task_logs(result.dag_id, result.run_id).values():
            found = _DBT_SUMMARY.findall(log)
            if found:
                passed, warned, errors, skipped = (int(n) for n in found[-1])
                return {"pass": passed, "warn": warned, "error": errors, "skip": skipped}
    return {}


class RunFailed(RuntimeError):
    """A DAG run of a release step failed; ``result`` is the failed run, ``table`` the
    markdown table of every run of the step so far."""

    def __init__(self, where: str, result: DagRunResult, table: str) -> None:
        self.result = result
        self.table = table
        super().__init__(
            f"{where}: {result.dag_id} run {result.run_id} {result.state}; failed tasks: "
            f"{', '.join(result.failed_tasks) or '-'}"
        )


def fail_on_failed_run(results: list[DagRunResult], table: str, where: str) -> None:
    """Raise ``RunFailed`` naming the first failed DAG, its failed tasks and a log excerpt."""
    failed = [r for r in results if not r.succeeded]
    if failed:
        raise RunFailed(where, failed[0], table)
