"""An HTTP server answering the MWAA API calls the MWAA target makes, as AWS's wire format has
them (botocore's ``mwaa`` service model, protocol rest-json):

- ``GetEnvironment``: ``GET /environments/{Name}`` -> ``{"Environment": {...}}``;
- ``UpdateEnvironment``: ``PATCH /environments/{Name}`` with the fields to change (requirements,
  plugins, Airflow version) -> ``{"Arn"}``: recorded in ``updates``, the environment is
  UPDATING for ``update_polls`` GetEnvironment calls, then AVAILABLE running the new object
  versions (or, with ``fail_update`` set, in ``fail_status`` with ``LastUpdate.Error``). Nothing
  is installed: the Airflow behind it runs from the runtime venv the test started it with;
- ``InvokeRestApi``: ``POST /restapi/{Name}`` with ``{"Path", "Method", "QueryParameters",
  "Body"}`` -> ``{"RestApiStatusCode", "RestApiResponse"}``, forwarded to a REAL Airflow's
  ``/api/v1{Path}``; an Airflow 4xx answers HTTP 400 ``RestApiClientException``, a 5xx or no
  answer ``RestApiServerException`` (both carrying the status and Airflow's body);
- errors as AWS sends them: the ``x-amzn-ErrorType`` header and a JSON body.

Only the test tree uses it; the Airflow behind it is real, the MWAA in front is not.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

PATH_MAX = 64  # RestApiPath's max length in MWAA's service model
WEBSERVER_TIMEOUT_S = 10.0  # MWAA gives up on the webserver after 10 s


@dataclass
class StandinEnvironment:
    """What ``GetEnvironment`` reports and where ``InvokeRestApi`` forwards to. ``status``:
    MWAA's EnvironmentStatus (set ``"UPDATING"`` to play an update); ``airflow_url`` and
    ``credentials`` (basic auth): the real Airflow, None when it is down; ``requirements_*``,
    ``plugins_*``, ``airflow_version``: what it runs. ``UpdateEnvironment`` calls are kept in
    ``updates`` (their fields); an update lasts ``update_polls`` GetEnvironment calls and, with
    ``fail_update`` (MWAA's error message) set, ends in ``fail_status`` instead of applying."""

    name: str
    bucket: str
    dags_prefix: str = "dags"
    status: str = "AVAILABLE"
    airflow_url: str | None = None
    credentials: tuple[str, str] | None = None
    requirements_path: str | None = None
    requirements_version: str | None = None
    plugins_path: str | None = None
    plugins_version: str | None = None
    airflow_version: str = "2.11.2"
    calls: list[str] = field(default_factory=list)
    update_polls: int = 2
    fail_update: str | None = None
    fail_status: str = "UPDATE_FAILED"
    updates: list[dict[str, Any]] = field(default_factory=list)
    last_update: dict[str, Any] | None = None
    _pending: dict[str, Any] | None = None
    _polls_left: int = 0

    def update(self, fields: dict[str, Any]) -> tuple[int, dict[str, Any], str | None]:
        """``UpdateEnvironment``: (HTTP status, body, error type). Refused unless the
        environment is AVAILABLE or UPDATE_FAILED, as MWAA refuses an update mid-change."""
        self.calls.append("UpdateEnvironment")
        if self.status not in ("AVAILABLE", "UPDATE_FAILED"):
            message = f"Environment {self.name} is {self.status}; it cannot be updated now"
            return 400, {"message": message}, "ValidationException"
        self.updates.append(dict(fields))
        self.status, self._pending, self._polls_left = "UPDATING", dict(fields), self.update_polls
        self.last_update = {"Status": "PENDING", "Source": "standin"}
        return 200, {"Arn": f"arn:aws:airflow:standin:123456789012:environment/{self.name}"}, None

    def advance(self) -> None:
        """One GetEnvironment during an update: the update ends after ``update_polls`` of them."""
        if self.status != "UPDATING" or self._pending is None:
            return
        if self._polls_left > 0:
            self._polls_left -= 1
            return
        fields, self._pending = self._pending, None
        if self.fail_update is not None:
            self.status = self.fail_status
            error = {"ErrorCode": "RequirementsInstallFailed", "ErrorMessage": self.fail_update}
            self.last_update = {"Status": "FAILED", "Source": "standin", "Error": error}
            return
        for name, attribute in _UPDATABLE.items():
            if name in fields:
                setattr(self, attribute, fields[name])
        self.status, self.last_update = "AVAILABLE", {"Status": "SUCCESS", "Source": "standin"}

    def describe(self, region: str) -> dict[str, Any]:
        env: dict[str, Any] = {
            "Name": self.name,
            "Status": self.status,
            "Arn": f"arn:aws:airflow:{region}:123456789012:environment/{self.name}",
            "AirflowVersion": self.airflow_version,
            "SourceBucketArn": f"arn:aws:s3:::{self.bucket}",
            "DagS3Path": self.dags_prefix,
            "WebserverUrl": self.airflow_url or "",
        }
        optional = {
            "RequirementsS3Path": self.requirements_path,
            "RequirementsS3ObjectVersion": self.requirements_version,
            "PluginsS3Path": self.plugins_path,
            "PluginsS3ObjectVersion": self.plugins_version,
        }
        env.update({k: v for k, v in optional.items() if v})
        if self.status == "UPDATING":
            env["LastUpdate"] = self.last_update or {"Status": "PENDING", "Source": "standin"}
        elif self.last_update is not None:
            env["LastUpdate"] = self.last_update
        return env


_UPDATABLE = {
    "RequirementsS3Path": "requirements_path",
    "RequirementsS3ObjectVersion": "requirements_version",
    "PluginsS3Path": "plugins_path",
    "PluginsS3ObjectVersion": "plugins_version",
    "AirflowVersion": "airflow_version",
}
"""UpdateEnvironment's fields the stand-in applies, and the attribute each sets."""


_ROUTE = re.compile(r"^/(environments|restapi)/([^/?]+)")
_ACCESS_KEY = re.compile(r"Credential=([^/]+)/")


class MwaaStandin:
    """The server on 127.0.0.1:``port`` (``endpoint``); ``environments`` by name; requests
    signed with another access key than ``access_key`` (when set) are refused as AWS refuses
    unknown credentials (403 ``UnrecognizedClientException``)."""

    def __init__(self, port: int, region: str, access_key: str | None = None) -> None:
        self.region = region
        self.access_key = access_key  # when set, requests signed with another key get 403
        self.environments: dict[str, StandinEnvironment] = {}
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self, status: int, body: Any, error_type: str | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if error_type:
                    self.send_header("x-amzn-ErrorType", error_type)
                self.end_headers()
                self.wfile.write(data)

            def _route(self, method: str) -> None:
                match = _ROUTE.match(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                env = standin.environments.get(match.group(2)) if match else None
                key = _ACCESS_KEY.search(self.headers.get("Authorization") or "")
                if standin.access_key and (key is None or key.group(1) != standin.access_key):
                    message = "The security token included in the request is invalid."
                    self._answer(403, {"message": message}, "UnrecognizedClientException")
                elif match is None:
                    self._answer(404, {"message": f"no route {self.path}"}, "UnknownOperation")
                elif env is None:
                    self._answer(
                        404,
                        {"message": f"Environment {match.group(2)} not found"},
                        "ResourceNotFoundException",
                    )
                elif match.group(1) == "environments" and method == "GET":
                    env.calls.append("GetEnvironment")
                    env.advance()
                    self._answer(200, {"Environment": env.describe(standin.region)})
                elif match.group(1) == "environments" and method == "PATCH":
                    self._answer(*env.update(json.loads(raw or b"{}")))
                elif match.group(1) == "restapi" and method == "POST":
                    self._answer(*standin.invoke(env, json.loads(raw or b"{}")))
                else:
                    self._answer(
                        404, {"message": f"no route {method} {self.path}"}, "UnknownOperation"
                    )

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_PATCH(self) -> None:
                self._route("PATCH")

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.endpoint = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def invoke(
        self, env: StandinEnvironment, call: dict[str, Any]
    ) -> tuple[int, dict[str, Any], str | None]:
        """``InvokeRestApi``: (HTTP status, body, error type) of the answer."""
        path, method = str(call.get("Path", "")), str(call.get("Method", ""))
        env.calls.append(f"InvokeRestApi {method} {path}")
        if not 1 <= len(path) <= PATH_MAX:
            message = f"Path must be 1 to {PATH_MAX} characters, got {len(path)}"
            return 400, {"message": message}, "ValidationException"
        if env.airflow_url is None:
            body = {"RestApiStatusCode": 502, "RestApiResponse": {"detail": "webserver down"}}
            return 400, body, "RestApiServerException"
        try:
            answer = requests.request(
                method,
                f"{env.airflow_url}/api/v1{path}",
                params=call.get("QueryParameters"),
                json=call.get("Body"),
                auth=env.credentials,
                timeout=WEBSERVER_TIMEOUT_S,
            )
        except requests.RequestException as exc:
            body = {"RestApiStatusCode": 504, "RestApiResponse": {"detail": type(exc).__name__}}
            return 400, body, "RestApiServerException"
        try:
            content: Any = answer.json() if answer.content else {}
        except ValueError:
            content = answer.text
        body = {"RestApiStatusCode": answer.status_code, "RestApiResponse": content}
        if answer.status_code >= 500:
            return 400, body, "RestApiServerException"
        if answer.status_code >= 400:
            return 400, body, "RestApiClientException"
        return 200, body, None

    def start(self) -> MwaaStandin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
