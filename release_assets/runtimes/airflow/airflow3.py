"""An Airflow 3.x environment: REST API v2 with a JWT, code delivered as versioned DAG bundles.

Why a ``GitDagBundle`` tracking a branch of a deploy repository (and not a ``LocalDagBundle``
with the loader/``current`` pointer scheme of 2.x):

- The switch stays atomic. Activating is one compare-and-swap update of the tracked branch
  (``git update-ref``); the branch's tree holds one loader file and ONE release's files, so
  every bundle version the DAG processor parses is exactly one release, never a mix.
- A running DAG run keeps the code it started with. Airflow 3 records the bundle version (the
  commit) on each run and its tasks execute from a checkout of that version
  (``<bundles>/<name>/versions/<sha>``); a retry of its failed tasks does too
  (``run_on_latest_version`` false). A ``LocalDagBundle`` is unversioned: a task that starts
  after a switch would import the NEW release's code in the middle of an old run.
- Each release is a tagged commit (``release/<id>``) and the branch's history is the
  environment's deploy history.

Canaries come from a second ``GitDagBundle`` tracking the canary branch of the same
repository (``BundleRepo``): one loader per release in canary, serving copies of chosen DAGs
under ``<dag_id>__canary_<release>``, so live DAGs' bundle versions never move for a canary.

The environment must be configured with both bundles (``dag_bundle_config_list``; see
``release_assets/local/airflow3_instance.py`` for a working configuration).
"""

from __future__ import annotations

from pathlib import Path

from release_assets.runtimes.airflow.auth import AirflowAuth
from release_assets.runtimes.airflow.bundle_repo import BundleRepo
from release_assets.runtimes.airflow.release_folder import canary_dag_id
from release_assets.runtimes.airflow.rest_v2 import RestV2AirflowTarget
from release_assets.runtimes.airflow.rest_v2_client import API_V2, HttpAirflowApi
from release_assets.runtimes.airflow.types import AirflowApiError


class Airflow3Target(RestV2AirflowTarget):
    """An Airflow 3.x environment.

    Fields: ``base_url`` the api-server (e.g. ``http://127.0.0.1:8091``); ``auth`` normally a
    ``JwtPasswordAuth`` (username + password reference; the token is fetched from
    ``/auth/token``, cached until it expires and fetched again on a 401); ``bundle_repo`` the
    path of the deploy repository (bare; created on first publish); ``bundle_name`` /
    ``canary_bundle_name`` the names the environment gives the two ``GitDagBundle``s;
    ``branch`` / ``canary_branch`` the branches they track; ``request_timeout_s`` the bound on
    each REST call (seconds).
    """

    base_url: str
    auth: AirflowAuth
    bundle_repo: str
    bundle_name: str = "releases"
    canary_bundle_name: str = "canaries"
    branch: str = "live"
    canary_branch: str = "canary"
    request_timeout_s: float = 10.0

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def client(self) -> HttpAirflowApi:
        return HttpAirflowApi(
            self.environment, self.url, self.auth, API_V2, timeout_s=self.request_timeout_s
        )

    @property
    def repo(self) -> BundleRepo:
        """The deploy repository the environment's bundles track."""
        return BundleRepo(self.environment, Path(self.bundle_repo), self.branch, self.canary_branch)

    def publish(self, release_id: str, bundle_dir: Path) -> None:
        """A tagged commit holding the release (nothing live changes; idempotent)."""
        self.repo.publish(release_id, bundle_dir)

    def activate(self, release_id: str) -> str | None:
        """Move the live branch to the release; the DAG processor picks the new bundle
        version up at its next refresh (``refresh_interval`` of the bundle)."""
        return self.repo.activate(release_id)

    def live_release(self) -> str | None:
        return self.repo.live_release()

    def publish_canary(self, release_id: str, dag_ids: list[str]) -> dict[str, str]:
        self.repo.add_canary(release_id, dag_ids)
        return {dag_id: canary_dag_id(dag_id, release_id) for dag_id in dag_ids}

    def remove_canary(self, release_id: str) -> list[str]:
        """Drop the release's canary loader from the canary branch and delete its DAGs."""
        removed = []
        for dag_id in self.repo.remove_canary(release_id):
            canary = canary_dag_id(dag_id, release_id)
            try:
                self.client.request("DELETE", f"/dags/{canary}")
                removed.append(canary)
            except AirflowApiError as exc:
                if exc.status != 404:
                    raise
        return removed
