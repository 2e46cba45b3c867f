"""The parts of an Airflow target that go through the REST API v2 (Airflow 3.x).

Same semantics as the v1 half (``RestAirflowTarget``): idempotent trigger, a failed run's
retry clears only its failed tasks, bounded waits. What differs in v2 (Airflow 3.3's
``v2-rest-api-generated.yaml``): health is ``/monitor/health``; a DAG has ``is_stale`` instead
of ``is_active`` (``exclude_stale`` filters); a trigger body must carry ``logical_date`` (null:
the run has none, so two runs never collide on a date); task logs are a list of structured
messages (``{"event": ..., "timestamp": ..., "level": ...}``).
"""

from __future__ import annotations

from typing import Any

from release_assets.runtimes.airflow.base import AirflowApiError, AirflowHealth, DagInfo
from release_assets.runtimes.airflow.rest_target import RestAirflowTarget

_LOG_EXCERPT_CHARS = 3000


def _render_error(detail: Any) -> list[str]:
    """A structured log line's ``error_detail`` (a list of exceptions, each with ``frames``
    ``{filename, lineno, name}``, ``exc_type`` and ``exc_value``) as traceback lines."""
    lines = []
    for exc in detail if isinstance(detail, list) else []:
        if not isinstance(exc, dict):
            continue
        lines.append("Traceback (most recent call last):")
        for frame in exc.get("frames") or []:
            lines.append(
                f'  File "{frame.get("filename")}", line {frame.get("lineno")}, '
                f"in {frame.get('name')}"
            )
        lines.append(f"{exc.get('exc_type', 'Exception')}: {exc.get('exc_value', '')}")
    return lines


def render_log(content: Any) -> str:
    """A v2 log body's ``content`` as text: structured messages one per line
    (``[timestamp] LEVEL event``, followed by the traceback of an ``error_detail``), plain
    strings as they are."""
    if isinstance(content, str):
        return content
    lines = []
    for item in content or []:
        if isinstance(item, dict):
            head = " ".join(
                str(item[k]) for k in ("timestamp", "level") if item.get(k) not in (None, "")
            )
            event = str(item.get("event", ""))
            lines.append(f"[{head}] {event}" if head else event)
            lines += _render_error(item.get("error_detail"))
        else:
            lines.append(str(item))
    return "\n".join(lines)


class RestV2AirflowTarget(RestAirflowTarget):
    """The REST v2 half of an Airflow 3 target; ``client`` must speak ``/api/v2``
    (``HttpAirflowApi(api_root=API_V2)``)."""

    def health(self) -> AirflowHealth:
        body = self.client.get("/monitor/health")
        return AirflowHealth(
            metadatabase=body.get("metadatabase", {}).get("status", "unknown"),
            scheduler=(body.get("scheduler") or {}).get("status", "unknown"),
        )

    def list_dags(self) -> list[DagInfo]:
        items = self.client.paginate("/dags", "dags", {"exclude_stale": "true"})
        return [
            DagInfo(
                d["dag_id"],
                d.get("fileloc", ""),
                bool(d["is_paused"]),
                not bool(d.get("is_stale", False)),
                tuple(t["name"] for t in d.get("tags") or []),
            )
            for d in items
        ]

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
                # Only the failed tasks run again, on the bundle version the run started with
                # (run_on_latest_version defaults to false).
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
        self.client.request(
            "POST",
            f"/dags/{dag_id}/dagRuns",
            json={"dag_run_id": run_id, "logical_date": logical_date, "conf": conf},
        )
        return run_id

    def _log_excerpt(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        try:
            body = self.client.request(
                "GET",
                f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                params={"full_content": "true"},
            )
        except AirflowApiError as exc:
            return f"(log unavailable: HTTP {exc.status})"
        content = body.get("content", "") if isinstance(body, dict) else body
        return render_log(content)[-_LOG_EXCERPT_CHARS:]
