"""A small client for Airflow's stable REST API (v1, Airflow 2.x) with bounded timeouts.

Credentials travel only in the Authorization header; they are never put in URLs, logs or
exception messages.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Protocol

import requests

from release_assets.runtimes.airflow.types import AirflowApiError, AirflowUnreachable

_PAGE = 100


class AirflowApi(Protocol):
    """What the REST half of a target needs from a client of Airflow's stable REST API v1:
    ``request`` takes a path below ``/api/v1`` (``"/dags"``) and returns the decoded JSON body
    (or text, or None for an empty body); it raises ``AirflowUnreachable`` when the API cannot
    be reached and ``AirflowApiError`` (with ``status``) for an HTTP error. Implemented by
    :class:`AirflowRestClient` (direct HTTP) and by MWAA's ``invoke_rest_api`` client."""

    environment: str

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> Any: ...

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any: ...

    def paginate(self, path: str, key: str, params: dict[str, Any] | None = None) -> list[Any]: ...


class PagedAirflowApi(ABC):
    """The part every client of Airflow's REST API shares: ``get`` and ``paginate`` over the
    client's own ``request`` (direct HTTP, v1 or v2; MWAA's ``invoke_rest_api``)."""

    environment: str

    @abstractmethod
    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> Any:
        """The decoded body of one call (see :class:`AirflowApi`)."""

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """``GET path``: the decoded body."""
        return self.request("GET", path, params=params)

    def paginate(self, path: str, key: str, params: dict[str, Any] | None = None) -> list[Any]:
        """All items of a paginated collection endpoint (``limit``/``offset``, pages of 100,
        until a short page or ``total_entries``)."""
        items: list[Any] = []
        offset = 0
        while True:
            page = self.get(path, {**(params or {}), "limit": _PAGE, "offset": offset})
            batch = page.get(key, [])
            items.extend(batch)
            offset += len(batch)
            if not batch or offset >= page.get("total_entries", 0):
                return items


def decode_body(response: requests.Response) -> Any:
    """A successful response's body: None when empty, text when not JSON (e.g. ``PUT
    /parseDagFile`` answers 201 "Duplicate request" when a parse is already queued), else the
    decoded JSON."""
    if not response.content:
        return None
    if "json" not in response.headers.get("Content-Type", ""):
        return response.text
    return response.json()


class AirflowRestClient(PagedAirflowApi):
    """Airflow's REST API v1 over HTTP with basic auth (``username``/``password``); every call
    bounded by ``timeout_s`` seconds. Implements :class:`AirflowApi`."""

    def __init__(
        self,
        environment: str,
        base_url: str,
        username: str,
        password: str,
        timeout_s: float = 10.0,
    ) -> None:
        self.environment = environment
        self.base_url = base_url.rstrip("/")
        self._session = requests.Session()
        self._session.auth = (username, password)
        self._session.headers["Accept"] = "application/json"
        self._timeout_s = timeout_s

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> Any:
        url = f"{self.base_url}/api/v1{path}"
        try:
            response = self._session.request(
                method, url, params=params, json=json, timeout=self._timeout_s
            )
        except requests.RequestException as exc:
            raise AirflowUnreachable(
                f"Airflow {self.environment!r} at {self.base_url} is unreachable "
                f"({type(exc).__name__}); is it running? (`release-assets local status`)"
            ) from None
        if response.status_code >= 400:
            raise AirflowApiError(
                self.environment, method, path, response.status_code, response.text
            )
        return decode_body(response)
