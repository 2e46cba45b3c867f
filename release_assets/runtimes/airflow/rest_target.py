"""The parts of an Airflow target that go through the stable REST API (v1, Airflow 2.x).

Shared by every target that exposes the REST API (local, self-hosted; MWAA through its
REST endpoint); targets add how code is deployed.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from datetime import UTC, datetime

from release_assets.runtimes.airflow.base import (
    AirflowApiError,
    AirflowHealth,
    AirflowTarget,
    AirflowUnreachable,
    DagImportError,
    DagInfo,
    DagRunResult,
)
from release_assets.runtimes.airflow.rest_client import AirflowApi
from release_assets.runtimes.processes import TimeoutExpired

_FINISHED = {"success", "failed"}
_LOG_EXCERPT_CHARS = 3000
_RUN_POLL_S = 1.0  # how often a DAG run's state is read while waiting for it (s)
# Reads of a run's state that may fail in a row (timeout, refused connection) before the wait
# reports Airflow unreachable: an api-server busy parsing a new bundle was seen to miss one
# 10 s read while the run went on; three misses in a row are ~30 s without an answer.
_UNREACHABLE_POLLS = 3
# What a run-state read may answer while the server is busy: a load balancer or proxy in front
# of a busy or restarting api-server (RFC 9110 section 15.6: bad gateway, service unavailable,
# gateway timeout), or the webserver's own 500 when its metadata database query failed (seen
# in CI: a local Airflow 2 webserver answered one GET of a run with 500 while its scheduler
# held the database). The read is idempotent, so it is retried like a timeout.
_TRANSIENT_READ_ERRORS = frozenset({500, 502, 503, 504})


class RestAirflowTarget(AirflowTarget):
    """The REST half of a target; subclasses say how to reach the API (``client``) and how
    code is deployed (publish/activate/canaries)."""

    @property
    @abstractmethod
    def client(self) -> AirflowApi:
        """A client for the environment's REST API v1 (credentials resolved per call)."""

    def health(self) -> AirflowHealth:
        body = self.client.get("/health")
        return AirflowHealth(
            metadatabase=body.get("metadatabase", {}).get("status", "unknown"),
            scheduler=body.get("scheduler", {}).get("status", "unknown"),
        )

    def list_dags(self) -> list[DagInfo]:
        items = self.client.paginate("/dags", "dags", {"only_active": "true"})
        return [
            DagInfo(
                d["dag_id"],
                d.get("fileloc", ""),
                bool(d["is_paused"]),
                bool(d["is_active"]),
                tuple(t["name"] for t in d.get("tags") or []),
            )
            for d in items
        ]

    def import_errors(self) -> list[DagImportError]:
        items = self.client.paginate("/importErrors", "import_errors")
        return [DagImportError(e["filename"], e["stack_trace"]) for e in items]

    def trigger(
        self,
        dag_id: str,
        run_id: str,
        conf: dict[str, object],
        logical_date: str | None = None,
    ) -> str:
        try:
            existing = self.client.get(f"/dags/{dag_id}/dagRuns/{run_id}")
        except AirflowApiError as exc:
            if exc.status != 404:
                raise
        else:
            if existing["state"] == "failed":
                # A retry re-runs only the failed tasks of the same run: nothing loads twice.
                self.client.request(
                    "POST",
                    f"/dags/{dag_id}/clearTaskInstances",
                    json={
                        "dag_run_id": run_id,
                        "only_failed": True,
                        "dry_run": False,
                        "reset_dag_runs": True,
                    },
                )
            return run_id
        self.client.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        body: dict[str, object] = {"dag_run_id": run_id, "conf": conf}
        if logical_date is not None:
            body["logical_date"] = logical_date
        self.client.request("POST", f"/dags/{dag_id}/dagRuns", json=body)
        return run_id

    def recent_runs(self, dag_id: str, since: datetime, limit: int = 25) -> list[DagRunResult]:
        """One page of ``GET /dags/{dag_id}/dagRuns`` (``start_date_gte``, ``order_by=-start_date``,
        ``limit``: the same parameters and shapes in REST v1 and v2), then the task instances of
        each failed run; a DAG Airflow does not know (404) has no runs."""
        params = {
            "start_date_gte": since.astimezone(UTC).isoformat(),
            "order_by": "-start_date",
            "limit": limit,
        }
        try:
            body = self.client.get(f"/dags/{dag_id}/dagRuns", params)
        except AirflowApiError as exc:
            if exc.status == 404:
                return []
            raise
        out = []
        for run in body.get("dag_runs", [])[:limit]:
            run_id = str(run.get("dag_run_id") or run.get("run_id"))
            failed: tuple[str, ...] = ()
            if run["state"] == "failed":
                tis = self.client.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
                failed = tuple(
                    ti["task_id"]
                    for ti in tis["task_instances"]
                    if ti["state"] in {"failed", "upstream_failed"}
                )
            run_type = str(run.get("run_type") or "")
            logical = str(run.get("logical_date") or run.get("execution_date") or "")
            conf = run.get("conf")
            out.append(
                DagRunResult(
                    dag_id,
                    run_id,
                    str(run["state"]),
                    failed,
                    "",
                    run_type,
                    logical,
                    dict(conf) if isinstance(conf, dict) else {},
                )
            )
        return out

    def _log_excerpt(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        try:
            body = self.client.request(
                "GET",
                f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                params={"full_content": "true"},
            )
        except AirflowApiError as exc:
            return f"(log unavailable: HTTP {exc.status})"
        content = body.get("content", "") if isinstance(body, dict) else str(body)
        return str(content)[-_LOG_EXCERPT_CHARS:]

    def task_logs(self, dag_id: str, run_id: str) -> dict[str, str]:
        """The latest log of every task of a run (for summaries such as dbt's)."""
        tis = self.client.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {
            ti["task_id"]: self._log_excerpt(
                dag_id, run_id, ti["task_id"], max(ti["try_number"], 1)
            )
            for ti in tis
        }

    def _run_state(self, dag_id: str, run_id: str, misses: int) -> tuple[str | None, int]:
        """The run's state and the count of reads missed in a row (``state`` None on a miss:
        no answer, a 500, or a gateway's 502/503/504 in front of a busy api-server); the
        ``_UNREACHABLE_POLLS``-th miss in a row is raised (``AirflowUnreachable`` or the
        last ``AirflowApiError``)."""
        try:
            return self.client.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"], 0
        except (AirflowUnreachable, AirflowApiError) as exc:
            transient = not isinstance(exc, AirflowApiError) or exc.status in _TRANSIENT_READ_ERRORS
            if not transient or misses + 1 >= _UNREACHABLE_POLLS:
                raise
            return None, misses + 1

    def wait_for_run(self, dag_id: str, run_id: str, timeout_s: float) -> DagRunResult:
        """Poll the run every ``_RUN_POLL_S`` s until it finishes; a read that fails (timeout,
        refused, 500/502/503/504) is retried, ``_UNREACHABLE_POLLS`` failed reads in a row raise
        the last failure; ``TimeoutExpired`` after ``timeout_s`` seconds."""
        deadline = time.monotonic() + timeout_s
        state: str | None = None
        misses = 0
        while True:
            state, misses = self._run_state(dag_id, run_id, misses)
            if state in _FINISHED:
                break
            if time.monotonic() >= deadline:
                raise TimeoutExpired(
                    f"{self.environment}: run {run_id} of {dag_id} still {state or 'unread'} after "
                    f"{timeout_s:.0f}s"
                )
            time.sleep(_RUN_POLL_S)
        if state == "success":
            return DagRunResult(dag_id, run_id, state)
        tis = self.client.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        failed = [ti for ti in tis if ti["state"] in {"failed", "upstream_failed"}]
        first = next((ti for ti in failed if ti["state"] == "failed"), None)
        excerpt = (
            self._log_excerpt(dag_id, run_id, first["task_id"], max(first["try_number"], 1))
            if first
            else ""
        )
        return DagRunResult(dag_id, run_id, state, tuple(ti["task_id"] for ti in failed), excerpt)
