"""A real Airflow 3.3.2 as a release target: REST v2 with a JWT, releases as git DAG bundles."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from release_assets.runtimes.airflow.airflow3 import Airflow3Target
from release_assets.runtimes.airflow.auth import AirflowAuthRefused, JwtPasswordAuth
from release_assets.runtimes.airflow.types import AirflowUnreachable, DagInfo
from release_assets.runtimes.secrets.fake import FakeSecrets
from tests.aws_server import free_port
from tests.runtimes.airflow.airflow3_fixture import (
    PASSWORD_REF,
    Airflow3,
    airflow3,  # noqa: F401  (module-scoped fixture)
    write_release,
)

pytestmark = pytest.mark.slow


def _served(target: Airflow3Target, want: set[str], release: str, timeout_s: float) -> float:
    """Seconds until exactly ``want`` is served, every DAG from ``release``."""
    began = time.monotonic()
    seen: list[DagInfo] = []
    while time.monotonic() - began < timeout_s:
        seen = target.list_dags()
        if {d.dag_id for d in seen} == want and {d.release for d in seen} == {release}:
            return time.monotonic() - began
        # Never a mix: a DAG served from the new release means its file was parsed whole.
        time.sleep(0.5)
    raise AssertionError(f"not served after {timeout_s}s: {seen}")


def test_release_lifecycle_on_airflow3(airflow3: Airflow3, tmp_path: Path) -> None:  # noqa: F811
    target = airflow3.target
    print(f"Airflow 3 start to healthy: {airflow3.started_s:.1f}s")
    one = write_release(tmp_path, "r1")
    two = write_release(tmp_path, "r2", extra=True)

    target.publish("r1", one)
    target.publish("r1", one)  # idempotent
    assert target.live_release() is None
    assert target.activate("r1") is None
    first_s = _served(target, {"hello", "broken_run"}, "r1", 180)
    print(f"activate -> DAGs served (first): {first_s:.1f}s")
    assert target.live_release() == "r1"

    assert target.trigger("hello", "run-ok", {}) == "run-ok"
    assert target.trigger("hello", "run-ok", {}) == "run-ok"  # idempotent
    assert target.wait_for_run("hello", "run-ok", 240).succeeded
    assert "hello from r1" in target.task_logs("hello", "run-ok")["say"]

    target.trigger("broken_run", "run-bad", {})
    failed = target.wait_for_run("broken_run", "run-bad", 240)
    assert failed.state == "failed" and failed.failed_tasks == ("boom",)
    assert "RuntimeError: table orders is missing (r1)" in failed.log_excerpt
    # What the post-release monitor reads: the runs since a moment, a failed one with its tasks.
    since = datetime.now(UTC) - timedelta(hours=1)
    (recent_bad,) = target.recent_runs("broken_run", since)
    assert (recent_bad.run_id, recent_bad.state) == ("run-bad", "failed")
    assert recent_bad.failed_tasks == ("boom",)
    assert [r.run_id for r in target.recent_runs("hello", since)] == ["run-ok"]
    assert target.recent_runs("hello", datetime.now(UTC) + timedelta(hours=1)) == []

    target.publish("r2", two)
    assert target.live_release() == "r1"  # publishing changes nothing live
    assert target.activate("r2") == "r1"
    switch_s = _served(target, {"hello", "broken_run", "only_in_r2"}, "r2", 180)
    print(f"activate -> DAGs served (switch): {switch_s:.1f}s")

    # The failed run of r1 retried after the switch re-runs its failed task on r1's code.
    target.trigger("broken_run", "run-bad", {})
    retried = target.wait_for_run("broken_run", "run-bad", 240)
    assert "table orders is missing (r1)" in retried.log_excerpt

    assert target.publish_canary("r1", ["hello"]) == {"hello": "hello__canary_r1"}
    began = time.monotonic()
    while "hello__canary_r1" not in {d.dag_id for d in target.list_dags()}:
        assert time.monotonic() - began < 180, target.list_dags()
        time.sleep(0.5)
    # The copy runs only when triggered and emits no live asset; the live DAG keeps both.
    summaries = {
        d: target.client.get(f"/dags/{d}/details")["timetable_summary"]
        for d in ("hello__canary_r1", "hello")
    }
    assert summaries["hello__canary_r1"] is None and summaries["hello"] is not None, summaries
    assert _producers(target, "raw.hello") == [("hello", "say")]
    target.trigger("hello__canary_r1", "canary-1", {})
    assert target.wait_for_run("hello__canary_r1", "canary-1", 240).succeeded
    assert "hello from r1" in target.task_logs("hello__canary_r1", "canary-1")["say"]
    live = {d.dag_id: d.release for d in target.list_dags() if "__canary_" not in d.dag_id}
    assert live == {"hello": "r2", "broken_run": "r2", "only_in_r2": "r2"}
    assert target.remove_canary("r1") == ["hello__canary_r1"]
    assert "hello__canary_r1" not in {d.dag_id for d in target.list_dags()}


def _producers(target: Airflow3Target, uri_part: str) -> list[tuple[str, str]]:
    """(dag_id, task_id) of every task emitting the asset whose URI holds ``uri_part``."""
    (asset,) = target.client.get("/assets", params={"uri_pattern": uri_part})["assets"]
    return sorted((t["dag_id"], t["task_id"]) for t in asset["producing_tasks"])


def test_wrong_password_is_one_line_naming_environment_and_url(
    airflow3: Airflow3,  # noqa: F811
) -> None:
    auth = JwtPasswordAuth(
        secrets=FakeSecrets(values={PASSWORD_REF: "not-the-password"}),
        username=airflow3.layout.credentials().username,
        password_ref=PASSWORD_REF,
    )
    wrong = airflow3.target.model_copy(update={"auth": auth})
    with pytest.raises(AirflowAuthRefused) as caught:
        wrong.list_dags()
    message = str(caught.value)
    assert "\n" not in message
    assert "'af3test'" in message and airflow3.target.url in message
    assert PASSWORD_REF in message and "not-the-password" not in message


def test_unreachable_airflow3_is_one_line(airflow3: Airflow3) -> None:  # noqa: F811
    url = f"http://127.0.0.1:{free_port()}"
    gone = airflow3.target.model_copy(update={"base_url": url, "request_timeout_s": 5.0})
    with pytest.raises(AirflowUnreachable) as caught:
        gone.health()
    message = str(caught.value)
    assert "\n" not in message and "'af3test'" in message and url in message
