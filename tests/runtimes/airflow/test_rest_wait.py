"""Waiting for a DAG run through the REST API: a read of the run's state that times out (an
api-server busy parsing a new bundle) is retried, an Airflow that stays silent is reported
unreachable, naming the environment, without waiting for the run's whole timeout."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from release_assets.runtimes.airflow.airflow3 import Airflow3Target
from release_assets.runtimes.airflow.auth import BasicAuth
from release_assets.runtimes.airflow.types import AirflowApiError, AirflowUnreachable
from release_assets.runtimes.secrets.fake import FakeSecrets

READ_TIMEOUT_S = 0.3


class Api:
    """A REST v2 stand-in whose run-state reads fail ``hangs`` times before answering
    ``state``: by hanging longer than the client's read timeout, or by answering ``status``
    (a gateway's 503, a 404...) when it is given."""

    def __init__(self, hangs: int, state: str = "success", status: int | None = None) -> None:
        self.hangs = hangs
        self.state = state
        self.status = status
        self.reads = 0
        self.url = ""


@pytest.fixture
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    stand_in = Api(*request.param)
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def do_GET(self) -> None:
            stand_in.reads += 1
            failing = stand_in.reads <= stand_in.hangs
            if failing and stand_in.status is None:
                release.wait(READ_TIMEOUT_S * 3)  # the client gives up first
                return
            status, answer = (stand_in.status, "busy") if failing else (200, stand_in.state)
            body = json.dumps({"state": answer, "detail": answer}).encode()
            self.send_response(status or 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield stand_in
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def _target(api: Api) -> Airflow3Target:
    auth = BasicAuth(secrets=FakeSecrets(values={"PW": "pw"}), username="ops", password_ref="PW")
    return Airflow3Target(
        environment="prod",
        base_url=api.url,
        auth=auth,
        bundle_repo="/nonexistent",
        request_timeout_s=READ_TIMEOUT_S,
    )


@pytest.mark.parametrize("api", [(2, "success")], indirect=True)
def test_two_reads_timing_out_in_a_row_do_not_fail_the_wait(api: Api) -> None:
    result = _target(api).wait_for_run("orders", "run-1", timeout_s=60)
    assert result.state == "success"
    assert api.reads == 3


@pytest.mark.parametrize("api", [(100, "success")], indirect=True)
def test_an_airflow_that_stays_silent_is_unreachable_long_before_the_run_timeout(
    api: Api,
) -> None:
    with pytest.raises(AirflowUnreachable) as caught:
        _target(api).wait_for_run("orders", "run-1", timeout_s=600)
    assert api.reads == 3  # gave up after three silent reads, not at the run's 600 s
    message = str(caught.value)
    assert "'prod'" in message and api.url in message
    assert "/dags/orders/dagRuns/run-1" in message


@pytest.mark.parametrize("api", [(2, "success", 503), (2, "success", 500)], indirect=True)
def test_a_busy_server_answering_503_or_500_twice_does_not_fail_the_wait(api: Api) -> None:
    result = _target(api).wait_for_run("orders", "run-1", timeout_s=60)
    assert result.state == "success"
    assert api.reads == 3


@pytest.mark.parametrize("api", [(100, "success", 500)], indirect=True)
def test_a_server_that_keeps_answering_500_fails_the_wait_after_three_reads(api: Api) -> None:
    with pytest.raises(AirflowApiError) as caught:
        _target(api).wait_for_run("orders", "run-1", timeout_s=600)
    assert caught.value.status == 500 and api.reads == 3


@pytest.mark.parametrize("api", [(1, "success", 404)], indirect=True)
def test_a_run_that_is_not_there_fails_at_once(api: Api) -> None:
    with pytest.raises(AirflowApiError) as caught:
        _target(api).wait_for_run("orders", "run-1", timeout_s=60)
    assert caught.value.status == 404 and api.reads == 1
