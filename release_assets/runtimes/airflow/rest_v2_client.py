"""An HTTP client of Airflow's REST API (v1 on 2.x, v2 on 3.x) with a pluggable auth backend.

Implements :class:`~release_assets.runtimes.airflow.rest_client.AirflowApi`: paths are given
below the API root (``"/dags"``), every call is bounded by ``timeout_s`` seconds, a 401 fetches
fresh credentials once (an expired Airflow 3 JWT) before it is reported. Failures are one line
naming the environment and the Airflow URL; credentials never appear in them.
"""

from __future__ import annotations

from typing import Any

import requests

from release_assets.runtimes.airflow.auth import AirflowAuth, AirflowAuthRefused
from release_assets.runtimes.airflow.rest_client import PagedAirflowApi, decode_body
from release_assets.runtimes.airflow.types import AirflowApiError, AirflowUnreachable

API_V1 = "/api/v1"
API_V2 = "/api/v2"


class HttpAirflowApi(PagedAirflowApi):
    """Airflow's REST API at ``base_url`` + ``api_root`` (``API_V1`` or ``API_V2``),
    authorized by ``auth``."""

    def __init__(
        self,
        environment: str,
        base_url: str,
        auth: AirflowAuth,
        api_root: str = API_V2,
        timeout_s: float = 10.0,
    ) -> None:
        self.environment = environment
        self.base_url = base_url.rstrip("/")
        self.api_root = api_root
        self._auth = auth
        self._timeout_s = timeout_s
        self._session = requests.Session()
        self._session.headers["Accept"] = "application/json"

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        json: dict[str, Any] | None,
        refresh: bool,
    ) -> requests.Response:
        headers = self._auth.headers(
            self.environment, self.base_url, self._timeout_s, refresh=refresh
        )
        url = f"{self.base_url}{self.api_root}{path}"
        try:
            return self._session.request(
                method, url, params=params, json=json, headers=headers, timeout=self._timeout_s
            )
        except requests.RequestException as exc:
            raise AirflowUnreachable(
                f"Airflow {self.environment!r} at {self.base_url} is unreachable "
                f"({type(exc).__name__} on {method} {self.api_root}{path})"
            ) from None

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> Any:
        """The decoded JSON body (text for a non-JSON body, None when empty). Raises
        ``AirflowUnreachable``, ``AirflowAuthRefused`` (401/403 after one refresh) or
        ``AirflowApiError`` (any other HTTP error, with ``status``)."""
        response = self._send(method, path, params, json, refresh=False)
        if response.status_code == 401:
            response = self._send(method, path, params, json, refresh=True)
        if response.status_code in (401, 403):
            raise AirflowAuthRefused(
                self.environment,
                self.base_url,
                method,
                f"{self.api_root}{path}",
                response.status_code,
                self._auth.describe(),
            )
        if response.status_code >= 400:
            body = " ".join(response.text.split())
            raise AirflowApiError(self.environment, method, path, response.status_code, body)
        return decode_body(response)
