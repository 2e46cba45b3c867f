"""Airflow's REST API v1 through MWAA's ``InvokeRestApi`` (boto3 ``mwaa.invoke_rest_api``).

MWAA forwards the call to the environment's webserver with the caller's IAM identity, so no
Airflow credential or web token exists on this side. Limits set by MWAA (source: botocore's
MWAA service model and the MWAA user guide): ``Path`` at most 64 characters, a 10 s timeout on
the webserver, responses up to 6 MB.
"""

from __future__ import annotations

import json
import re
from typing import Any

import botocore.exceptions

from release_assets.runtimes.airflow.rest_client import PagedAirflowApi
from release_assets.runtimes.airflow.types import AirflowApiError, AirflowError, AirflowUnreachable
from release_assets.runtimes.aws import describe_aws_error, error_code

PATH_MAX = 64
"""The longest ``Path`` InvokeRestApi takes (botocore's MWAA model, shape ``RestApiPath``)."""
_TASK_INSTANCES = re.compile(r"^/dags/([^/~]+)/dagRuns/([^/~]+)/taskInstances$")
_DAG_RUNS = re.compile(r"^/dags/([^/~]+)/dagRuns$")
# GET /dags/{id}/dagRuns query parameters -> the batch endpoint's body fields (ListDagRunsForm).
_RUNS_FORM = {"limit": "page_limit", "offset": "page_offset", "state": "states"}


class MwaaPathTooLong(AirflowApiError):
    """A REST path longer than InvokeRestApi accepts, with no shorter equivalent; not sent."""

    def __init__(self, environment: str, environment_name: str, method: str, path: str) -> None:
        self.status = 400
        AirflowError.__init__(
            self,
            f"Airflow {environment!r} (MWAA environment {environment_name!r}): {method} {path} "
            f"not sent: MWAA's InvokeRestApi takes paths of at most {PATH_MAX} characters, "
            f"this one has {len(path)} (shorten the DAG id or run id)",
        )


def _short_form(
    method: str, path: str, params: dict[str, Any] | None = None
) -> tuple[str, str, dict[str, Any]] | None:
    """An equivalent call with a path InvokeRestApi accepts: a run's task instances through
    the batch endpoint (``POST /dags/~/dagRuns/~/taskInstances/list``), a DAG's runs through
    ``POST /dags/~/dagRuns/list`` (its query parameters as the body's fields), same answer
    shapes; None when there is none."""
    runs = _DAG_RUNS.match(path)
    if method == "GET" and runs is not None:
        form: dict[str, Any] = {_RUNS_FORM.get(k, k): v for k, v in (params or {}).items()}
        return "POST", "/dags/~/dagRuns/list", {**form, "dag_ids": [runs.group(1)]}
    match = _TASK_INSTANCES.match(path)
    if method != "GET" or match is None:
        return None
    body = {"dag_ids": [match.group(1)], "dag_run_ids": [match.group(2)], "page_limit": 1000}
    return "POST", "/dags/~/dagRuns/~/taskInstances/list", body


_REST_ERRORS = {"RestApiClientException", "RestApiServerException"}
_NO_WEBSERVER = {502, 503, 504}  # gateway statuses: the webserver did not answer MWAA


class MwaaRestClient(PagedAirflowApi):
    """Airflow's REST API v1 through ``mwaa.invoke_rest_api`` (implements ``AirflowApi``).

    ``environment``: the deployment's environment name; ``environment_name``: MWAA's;
    ``mwaa``: a boto3 MWAA client; ``where``: the endpoint for messages. An Airflow error
    status (``RestApiClientException``/``RestApiServerException``) becomes
    ``AirflowApiError`` with that status, except 502/503/504 (MWAA did not reach the
    webserver: ``AirflowUnreachable``); every other failure (endpoint unreachable,
    credentials rejected, environment not found) ``AirflowUnreachable`` with one line naming
    the environment. A path over PATH_MAX characters is sent in a shorter equivalent form when
    one exists, else refused before sending (``MwaaPathTooLong``, status 400)."""

    def __init__(self, environment: str, environment_name: str, mwaa: Any, where: str) -> None:
        self.environment = environment
        self.environment_name = environment_name
        self._mwaa = mwaa
        self._where = where

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> Any:
        if len(path) > PATH_MAX:
            shorter = _short_form(method, path, params)
            if shorter is None:
                raise MwaaPathTooLong(self.environment, self.environment_name, method, path)
            method, path, json = shorter
            params = None
        call: dict[str, Any] = {"Name": self.environment_name, "Path": path, "Method": method}
        if params:
            call["QueryParameters"] = params
        if json is not None:
            call["Body"] = json
        try:
            answer = self._mwaa.invoke_rest_api(**call)
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) in _REST_ERRORS:
                status = int(exc.response.get("RestApiStatusCode") or 0)
                body = exc.response.get("RestApiResponse")
                if status in _NO_WEBSERVER:
                    raise AirflowUnreachable(
                        f"Airflow {self.environment!r} (MWAA environment "
                        f"{self.environment_name!r}): {method} {path}: MWAA could not reach "
                        f"the Airflow webserver (HTTP {status}: {_text(body)[:200]})"
                    ) from None
                raise AirflowApiError(self.environment, method, path, status, _text(body)) from None
            raise self._unreachable(exc, method, path) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise self._unreachable(exc, method, path) from None
        status = int(answer.get("RestApiStatusCode") or 200)
        body = answer.get("RestApiResponse")
        if status >= 400:
            raise AirflowApiError(self.environment, method, path, status, _text(body))
        return body

    def _unreachable(self, exc: Exception, method: str, path: str) -> AirflowUnreachable:
        what = (
            f"Airflow {self.environment!r} (MWAA environment {self.environment_name!r}): "
            f"{method} {path}"
        )
        return AirflowUnreachable(describe_aws_error(exc, what, self._where))


def _text(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body)
