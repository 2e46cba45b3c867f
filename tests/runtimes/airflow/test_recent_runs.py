"""`recent_runs`: one bounded page of a DAG's runs since a time, newest first, with the failed
tasks of a failed run; the same request on REST v1 (self-hosted 2.x) and v2 (Airflow 3), the
batch form through MWAA's InvokeRestApi, and the fake's scripted runs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from release_assets.runtimes.airflow.airflow3 import Airflow3Target
from release_assets.runtimes.airflow.auth import BasicAuth
from release_assets.runtimes.airflow.base import AirflowTarget, DagRunResult
from release_assets.runtimes.airflow.fake import FakeAirflow, airflow_state, drop_world
from release_assets.runtimes.airflow.mwaa_rest import MwaaRestClient
from release_assets.runtimes.airflow.self_hosted import SelfHostedAirflow
from release_assets.runtimes.airflow.types import AirflowUnreachable
from release_assets.runtimes.secrets.fake import FakeSecrets

SINCE = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
RUNS = {
    "dag_runs": [
        {"dag_run_id": "scheduled__2", "state": "failed", "start_date": "2026-11-02T10:30:00Z"},
        {"dag_run_id": "scheduled__1", "state": "success", "start_date": "2026-11-02T10:05:00Z"},
    ],
    "total_entries": 2,
}
TASKS = {
    "task_instances": [
        {"task_id": "extract", "state": "success"},
        {"task_id": "load", "state": "failed"},
        {"task_id": "publish", "state": "upstream_failed"},
    ]
}
EXPECTED = [
    DagRunResult("orders", "scheduled__2", "failed", ("load", "publish")),
    DagRunResult("orders", "scheduled__1", "success"),
]


@pytest.fixture(scope="module")
def api() -> Iterator[tuple[str, list[str]]]:
    """A REST stand-in (v1 and v2 alike): the runs of ``orders``, the task instances of its
    failed run, 404 for any other DAG. Yields its URL and the requests it received."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def do_GET(self) -> None:
            seen.append(self.path)
            path = urlparse(self.path).path.split("/api/v", 1)[1][1:]
            answers = {
                "/dags/orders/dagRuns": RUNS,
                "/dags/orders/dagRuns/scheduled__2/taskInstances": TASKS,
            }
            body = json.dumps(answers.get(path, {"detail": "DAG not found"})).encode()
            self.send_response(200 if path in answers else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _targets(url: str) -> list[AirflowTarget]:
    auth = BasicAuth(secrets=FakeSecrets(values={"PW": "pw"}), username="ops", password_ref="PW")
    return [
        SelfHostedAirflow(environment="prod", base_url=url, auth=auth, dags_folder="/none"),
        Airflow3Target(environment="prod", base_url=url, auth=auth, bundle_repo="/none"),
    ]


def test_rest_v1_and_v2_read_one_page_newest_first_with_failed_tasks(
    api: tuple[str, list[str]],
) -> None:
    url, seen = api
    for target, root in zip(_targets(url), ("/api/v1", "/api/v2"), strict=True):
        seen.clear()
        assert target.recent_runs("orders", SINCE, limit=10) == EXPECTED
        query = parse_qs(urlparse(seen[0]).query)
        assert urlparse(seen[0]).path == f"{root}/dags/orders/dagRuns"
        assert query == {
            "start_date_gte": ["2026-11-02T10:00:00+00:00"],
            "order_by": ["-start_date"],
            "limit": ["10"],
        }
        assert target.recent_runs("not_deployed", SINCE) == []


class _Mwaa:
    """A boto3 MWAA client stand-in: records each InvokeRestApi call, answers the batch forms."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def invoke_rest_api(self, **call: Any) -> dict[str, Any]:
        self.calls.append(call)
        body = RUNS if call["Path"] == "/dags/~/dagRuns/list" else TASKS
        return {"RestApiStatusCode": 200, "RestApiResponse": body}


def test_mwaa_sends_a_long_dag_runs_path_as_the_batch_form() -> None:
    mwaa = _Mwaa()
    client = MwaaRestClient("prod", "northstar-prod", mwaa, "MWAA in eu-west-1")
    dag = "publish_revenue_report_to_the_finance_bucket_every_hour"  # path: 70 characters
    params = {"start_date_gte": SINCE.isoformat(), "order_by": "-start_date", "limit": 25}

    assert client.get(f"/dags/{dag}/dagRuns", params) == RUNS

    assert mwaa.calls[0] == {
        "Name": "northstar-prod",
        "Path": "/dags/~/dagRuns/list",
        "Method": "POST",
        "Body": {
            "dag_ids": [dag],
            "start_date_gte": "2026-11-02T10:00:00+00:00",
            "order_by": "-start_date",
            "page_limit": 25,
        },
    }


def test_the_fake_returns_scripted_runs_since_a_time_and_can_be_unreachable() -> None:
    world = "recent-runs"
    try:
        state = airflow_state(world, "prod")
        state.add_run("orders", "before", "failed", SINCE - timedelta(minutes=1), ("load",))
        state.add_run("orders", "first", "success", SINCE + timedelta(minutes=5))
        state.add_run("orders", "second", "failed", SINCE + timedelta(minutes=30), ("load",))
        target = FakeAirflow(environment="prod", world=world)

        assert [r.run_id for r in target.recent_runs("orders", SINCE)] == ["second", "first"]
        assert target.recent_runs("orders", SINCE, limit=1)[0].failed_tasks == ("load",)
        state.unreachable = "Airflow 'prod' is unreachable (ConnectTimeout)"
        with pytest.raises(AirflowUnreachable, match="Airflow 'prod' is unreachable"):
            target.recent_runs("orders", SINCE)
    finally:
        drop_world(world)
